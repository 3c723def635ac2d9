# Airbyte's in-process standard test suite (integration_tests/test_acceptance.py) needs its hooks
# registered at the root of the test tree.
pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]
