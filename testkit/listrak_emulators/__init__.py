"""Local HTTP emulators of the APIs source-listrak reads, one per API.

- `listrak_emulators.sdk_example`: the REST contract of the Fivetran Connector SDK's Listrak example
  (/contacts, /campaigns, /events with page/perPage, Bearer or Basic keys) and its companion
  collections; what the connector's API-key configurations read; a package: its contract, the
  generated dataset, the server.
- `listrak_emulators.email_v1`: the Listrak Email REST API v1 (OAuth2 client credentials, list-scoped
  paths, opaque cursors, naive US-Eastern timestamps); a package: one table of its streams, and a
  module for each role (account, routes, faults, oracle).
- `listrak_emulators.http`: the HTTP plumbing both share.

Used by the integration tests, `scripts/demo`, `bench/` and the example notebook. Standard library only;
not part of the connector's package.
"""
