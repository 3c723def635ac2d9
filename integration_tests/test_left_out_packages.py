"""The packages the image leaves out (the Dockerfile's `LEFT_OUT`: requirements of airbyte-cdk for features
this connector does not use) are really unimportable where the tests run the connector as in the image
(`harness.run_connector(..., image_packages=True)`). test_quiet_logs.py runs every command that way."""

from __future__ import annotations

import subprocess

from listrak_testkit.harness import as_in_the_image, left_out_modules, left_out_of_the_image


def test_the_image_leaves_out_the_cdks_file_parsers_and_its_command_line_libraries() -> None:
    assert {"pandas", "numpy", "nltk", "google-cloud-secret-manager", "grpcio", "rich"} <= left_out_of_the_image()
    assert {"pandas", "numpy", "nltk", "google", "grpc", "rich"} <= left_out_modules()
    assert not {"airbyte_cdk", "requests", "pydantic", "orjson", "source_listrak"} & left_out_modules()


def test_as_in_the_image_a_left_out_module_cannot_be_imported() -> None:
    command = as_in_the_image()
    command[-1] = command[-1].replace("from source_listrak.run import run\nrun()", "import pandas.core.frame")

    done = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert done.returncode != 0 and "left out of the image" in done.stderr
