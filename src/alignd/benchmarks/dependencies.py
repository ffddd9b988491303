"""Dependencies that load the caller's benchmark or raise the shared 404."""

from typing import Annotated

from fastapi import Depends

from alignd.auth.dependencies import CurrentUser
from alignd.benchmarks import service
from alignd.benchmarks.models import Benchmark
from alignd.db.dependencies import DbSession


def owned_benchmark(benchmark_id: str, user: CurrentUser, session: DbSession) -> Benchmark:
    return service.get(session, user, benchmark_id)


OwnedBenchmark = Annotated[Benchmark, Depends(owned_benchmark)]
