# flexprice-mock in a container. The full Flexprice spec is not in this repository: mount yours.
#   docker build -t flexprice-mock .
#   docker run --rm -p 127.0.0.1:8080:8080 -e FLEXPRICE_MOCK_ADMIN_TOKEN="$(openssl rand -hex 16)" \
#     -v /path/to/flexprice/openapi.json:/spec/openapi.json:ro \
#     flexprice-mock --spec /spec/openapi.json --fixtures sample
# Without --spec it serves the seed spec shipped in the package (API keys only). The container binds
# 0.0.0.0, so the mock refuses to start unless given an admin token (the /_mock/ endpoints then need
# `Authorization: Bearer $FLEXPRICE_MOCK_ADMIN_TOKEN`) or --no-admin.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md openapi.json ./
COPY flexprice_cli ./flexprice_cli
COPY flexprice_spec ./flexprice_spec
COPY mock_server ./mock_server
COPY contract_tests ./contract_tests
COPY fixtures ./fixtures
RUN pip install . && useradd --system --no-create-home mock
USER mock

EXPOSE 8080
# 0.0.0.0 inside the container only, so the published port reaches it; the admin endpoints
# (/_mock/*) need FLEXPRICE_MOCK_ADMIN_TOKEN (or --admin-token), or --no-admin to leave them out.
ENTRYPOINT ["flexprice-mock", "--host", "0.0.0.0", "--port", "8080"]
CMD []
