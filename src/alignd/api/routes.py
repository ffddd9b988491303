"""Mount every resource router under /api/v3 (and the OpenAI-compatible /v1 routes)."""

from fastapi import FastAPI

from alignd.alignments.endpoints import router as alignments_router
from alignd.benchmarks.endpoints import router as benchmarks_router
from alignd.catalog.endpoints import router as catalog_router
from alignd.deployments.endpoints import router as deployments_router
from alignd.documents.endpoints import router as documents_router
from alignd.evaluations.endpoints import router as evaluations_router
from alignd.inference.endpoints import openai_router, router as inference_router

API_PREFIX = "/api/v3"


def include_routes(app: FastAPI) -> None:
    app.include_router(documents_router, prefix=f"{API_PREFIX}/documents", tags=["documents"])
    # The reference's examples use /alignment/..., its route table /alignment-project/...
    app.include_router(alignments_router, prefix=f"{API_PREFIX}/alignment-project", tags=["alignments"])
    app.include_router(
        alignments_router, prefix=f"{API_PREFIX}/alignment", tags=["alignments"], include_in_schema=False
    )
    app.include_router(deployments_router, prefix=f"{API_PREFIX}/models", tags=["models"])
    app.include_router(catalog_router, prefix=f"{API_PREFIX}/models", tags=["models"])
    app.include_router(inference_router, prefix=f"{API_PREFIX}/inference", tags=["inference"])
    app.include_router(benchmarks_router, prefix=f"{API_PREFIX}/benchmark", tags=["benchmarks"])
    app.include_router(evaluations_router, prefix=f"{API_PREFIX}/evaluations", tags=["evaluations"])
    app.include_router(openai_router, prefix="/v1", tags=["openai"])
