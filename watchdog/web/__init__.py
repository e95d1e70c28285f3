"""Looking from outside the CLI: the daemon's read-only HTTP server (``server``), its
Prometheus ``/metrics`` (``metrics``) and its status page (``page``, drawn by ``charts``, in
the words of ``words``). Loaded only when ``[web]`` is enabled."""
