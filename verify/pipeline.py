"""The pipeline `make verify` runs in a team's namespace: one step that writes an artifact, so a successful run
proves the launcher reached the team's S3 prefix with its Pod Identity role and recorded the execution in ML
Metadata. Compiled with the pinned kfp SDK (requirements-verify.txt)."""

from kfp import dsl


@dsl.component(base_image="python:3.12-slim")
def write(text: str, out: dsl.Output[dsl.Dataset]):
    with open(out.path, "w") as f:
        f.write(text)


@dsl.pipeline(name="mlplatform-verify")
def verify_pipeline(text: str = "verified"):
    write(text=text)
