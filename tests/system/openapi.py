"""docs/openapi.yaml for the tests: its operations, their examples, and the
validation of answers against its schemas (python3-yaml, python3-jsonschema)."""
import os

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METHODS = ("get", "post", "put", "patch", "delete")


def load():
    with open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


class Operation:
    def __init__(self, doc, path, method, op):
        self.doc, self.path, self.method, self.op = doc, path, method.upper(), op
        self.permission = op.get("x-eqms-permission")
        self.during_change = bool(op.get("x-eqms-during-password-change"))
        self.statuses = {int(s) for s in op["responses"]}
        self.streamed = bool(op.get("x-eqms-streamed"))

    def __repr__(self):
        return f"{self.method} {self.path}"

    @property
    def kind(self):
        """users, roles, tokens, windows, alerts, staff, branches, stats: the
        collection a path begins with."""
        return self.path.split("/")[3]

    def examples(self):
        """The documented request bodies (none: [None])."""
        body = self.op.get("requestBody")
        if not body:
            return [None]
        media = body["content"]["application/json"]
        if "examples" in media:
            return [e["value"] for e in media["examples"].values()]
        return [media["example"]]

    def example_query(self):
        """The query of an example request: each required query argument with
        the first example of its schema."""
        query = {}
        for param in self.op.get("parameters", []):
            while "$ref" in param:
                param = self.doc["components"]["parameters"][param["$ref"].split("/")[-1]]
            if param["in"] == "query" and param.get("required"):
                query[param["name"]] = param["schema"]["examples"][0]
        return query

    def schema(self, status, content_type="application/json"):
        """The schema of the answer `status` (None: no body documented)."""
        resp = self.op["responses"][str(status)]
        while "$ref" in resp:
            resp = self.doc["components"]["responses"][resp["$ref"].split("/")[-1]]
        content = resp.get("content", {})
        media = content.get(content_type.split(";")[0].strip())
        return media["schema"] if media else None

    def check(self, r):
        """Asserts that answer `r` is documented: its status, and its body against
        the schema of that status."""
        assert r.status_code in self.statuses, f"{self}: undocumented {r.status_code} {r.text}"
        resp = self.op["responses"][str(r.status_code)]
        while "$ref" in resp:
            resp = self.doc["components"]["responses"][resp["$ref"].split("/")[-1]]
        if not resp.get("content"):
            assert r.content == b"", f"{self}: {r.status_code} has a body: {r.text}"
            return
        ctype = r.headers.get("Content-Type", "")
        schema = self.schema(r.status_code, ctype)
        assert schema is not None, f"{self}: {r.status_code} as {ctype}"
        if ctype.startswith("text/event-stream"):
            return  # a live stream: its events are checked by test_webapi_live
        if ctype.startswith("text/csv"):
            # a file: UTF-8 with a BOM, named by Content-Disposition
            assert r.content.startswith(b"\xef\xbb\xbf"), f"{self}: CSV without BOM"
            r.content.decode("utf-8")
            assert r.headers["Content-Disposition"].startswith("attachment; filename="), self
        elif ctype.startswith("application/zip"):
            # a backup archive (docs/backup.md): a zip with its manifest
            assert r.content.startswith(b"PK\x03\x04"), f"{self}: not a zip"
            assert b"manifest.json" in r.content, f"{self}: no manifest"
        elif ctype.startswith("audio/wav"):
            # an announcement's voice (docs/voice.md): a WAV file, its length told
            assert r.content[:4] == b"RIFF" and r.content[8:12] == b"WAVE", f"{self}: not a WAV"
            assert int(r.headers["Content-Length"]) == len(r.content), self
            assert r.headers.get("Content-Encoding") is None, f"{self}: WAV compressed"
        elif ctype.startswith("application/vnd.openxmlformats"):
            assert r.content.startswith(b"PK\x03\x04"), f"{self}: not an XLSX (zip)"
            assert r.headers.get("Content-Encoding") is None, f"{self}: XLSX compressed again"
            assert r.headers["Content-Disposition"].startswith("attachment; filename="), self
        else:
            validate(self.doc, r.json(), schema)


def validate(doc, value, schema):
    resolver = jsonschema.RefResolver("", doc)
    jsonschema.Draft202012Validator(schema, resolver=resolver).validate(value)


def operations(doc=None):
    doc = doc or load()
    return [Operation(doc, path, method, op)
            for path, item in doc["paths"].items()
            for method, op in item.items() if method in METHODS]
