"""What tests, scripts and the benchmark share to run the connector: `catalogue`, the connector's streams
as `discover` lists them, and `harness`, which runs the installed `source-listrak` command and parses
what it prints. The APIs it reads are emulated by `listrak_emulators`, beside this package."""
