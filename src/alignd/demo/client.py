"""The demo's HTTP calls, made exactly as an API user would make them."""

import time
from pathlib import Path
from typing import Any

import httpx


class DemoError(RuntimeError):
    pass


class DemoClient:
    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=600)

    def _check(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise DemoError(f"{response.request.method} {response.request.url.path} failed with "
                            f"{response.status_code}: {response.text}")
        return response.json()

    def upload(self, paths: list[Path]) -> list[str]:
        files = [("files", (path.name, path.read_bytes())) for path in paths]
        task_ids = self._check(self.http.post("/api/v3/documents", files=files))
        document_ids = []
        for task_id in task_ids:
            status = self._check(self.http.get(f"/api/v3/documents/upload-status/{task_id}"))
            while status["status"] == "PROCESSING":
                time.sleep(0.5)
                status = self._check(self.http.get(f"/api/v3/documents/upload-status/{task_id}"))
            if status["status"] != "COMPLETED":
                raise DemoError(f"Upload failed: {status['error']}")
            document_ids.append(status["document_id"])
        return document_ids

    def base_model(self, name: str) -> dict[str, Any] | None:
        """Return the catalog entry whose id or alias is ``name``, or None when there is none."""
        models = self._check(self.http.get("/api/v3/models"))["models"]
        return next((model for model in models if name == model["id"] or name in model["aliases"]), None)

    def create_project(self, name: str, base_model: str, document_ids: list[str],
                       hyperparameters: dict[str, Any], benchmark_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "base_model": base_model, "document_ids": document_ids,
                                "hyperparameters": hyperparameters}
        if benchmark_id:
            body["benchmark_id"] = benchmark_id
        return self._check(self.http.post("/api/v3/alignment-project/create", json=body))

    def project(self, project_id: str) -> dict[str, Any]:
        return self._check(self.http.get(f"/api/v3/alignment-project/{project_id}"))

    def dataset(self, project_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        return self._check(self.http.get(f"/api/v3/alignment-project/{project_id}/dataset",
                                         params={"limit": limit}))["examples"]

    def deploy(self, model_id: str) -> None:
        self._check(self.http.post(f"/api/v3/models/deploy-model/{model_id}"))
        while True:
            status = self._check(self.http.get(f"/api/v3/models/deploy-model/{model_id}/status"))
            if status["status"] == "COMPLETED":
                return
            if status["status"] == "FAILED":
                raise DemoError(f"Deploy failed: {status['result']}")
            time.sleep(0.5)

    def ask(self, model: str, question: str, max_tokens: int) -> str:
        body = {"model": model, "messages": [{"role": "user", "content": question}],
                "max_tokens": max_tokens, "temperature": 0}
        answer = self._check(self.http.post("/api/v3/inference/chat/completions", json=body))
        return answer["choices"][0]["message"]["content"].strip()

    def undeploy(self, model_id: str) -> None:
        self._check(self.http.delete(f"/api/v3/models/undeploy-model/{model_id}"))

    def delete_project(self, project_id: str) -> None:
        self._check(self.http.delete(f"/api/v3/alignment-project/{project_id}"))

    def delete_document(self, document_id: str) -> None:
        self._check(self.http.delete(f"/api/v3/documents/{document_id}"))

    def upload_benchmark(self, path: Path, document_id: str) -> str:
        files = {"file": (path.name, path.read_bytes(), "application/json")}
        data = {"name": path.stem, "document_id": document_id, "description": "Uploaded by alignd demo"}
        return self._check(self.http.post("/api/v3/benchmark/upload", files=files, data=data))["id"]
