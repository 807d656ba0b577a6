"""stackctl's edge: a small HAProxy container that owns the host's HTTP and HTTPS ports in
production, terminates TLS (ACME, a local CA, or the user's files), and forwards to the user's
proxy, which then publishes nothing and is rolled out like an app (a new container beside the
old one, the old one drained at the edge, then stopped): a web-image deploy is a switch at the
edge, never a port handover.

- `override`: the compose override that adds the edge and takes the proxy's host ports away
  (`.stackctl/edge-<env>.yaml`, layered after the production file; the user's files unchanged).
- `haproxy`: its configuration, as text.
- `certs`: the local CA (`tls: internal`) and the certificate files the edge serves.
- `prepare`: what `up` writes before the edge starts (configuration, certificates, ACME settings).
- `runtime`: HAProxy's runtime API through the container (servers, drain, reload).
- `roll`: a new proxy container put in service behind the edge.
"""

SERVICE = "stackctl-edge"

