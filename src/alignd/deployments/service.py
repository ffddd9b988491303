"""Deploy and undeploy of aligned models."""

from alignd.runtime import Runtime


def restore_deployments(runtime: Runtime) -> None:
    pass
