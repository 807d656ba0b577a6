"""`stackctl schema`: the JSON Schema of stackctl.yaml, made from the models that read it
(stackctl.roles), so an editor checks the file as stackctl will."""

from __future__ import annotations

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def roles_schema() -> dict:
    from stackctl import kinds
    from stackctl.roles import Roles

    schema = Roles.model_json_schema()
    schema["$defs"]["Data"]["properties"]["kind"]["anyOf"][0]["enum"] = list(kinds.KNOWN)
    return {"$schema": DIALECT, "title": "stackctl.yaml",
            "description": "Which of your compose services is the database, the cache, the migrations, the apps "
                           "and the proxy, and which file is production's. Written by stackctl init.",
            **{k: v for k, v in schema.items() if k != "title"}}
