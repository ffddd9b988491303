"""A bare FastAPI app with one GET and one DELETE route: the floor for the API latency benchmark."""

from fastapi import FastAPI

app = FastAPI()
ITEMS = {f"item_{index}": {"id": f"item_{index}", "status": "READY"} for index in range(10_000)}


@app.get("/items/{item_id}")
def get_item(item_id: str) -> dict:
    return ITEMS.get(item_id, {"id": item_id})


@app.delete("/items/{item_id}")
def delete_item(item_id: str) -> dict:
    ITEMS.pop(item_id, None)
    return {"id": item_id, "message": "deleted"}
