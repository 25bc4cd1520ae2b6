//! `assets/openapi.yaml` against the running server: every response of a scenario touching each
//! operation (success and error cases) must have a documented status whose schema the JSON body
//! satisfies, and every request body and query parameter sent must be documented.
//!
//! The schema checker covers the subset of OpenAPI 3.0 the spec uses and rejects any other
//! keyword, so the spec cannot drift into constructs nobody checks.

use crate::support;
use std::collections::BTreeSet;

use crate::support::{ALICE, BOB, PREFIX, Resp, TestServer, insert_files, spawn_server};
use serde_json::{Value, json};

const SCHEMA_KEYWORDS: &[&str] = &[
    "$ref",
    "type",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "enum",
    "nullable",
    "oneOf",
    "description",
    "format",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
];
const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];
const OPERATION_KEYS: &[&str] = &[
    "operationId",
    "summary",
    "description",
    "parameters",
    "requestBody",
    "responses",
];
const METHODS: &[&str] = &["get", "post", "patch", "delete", "put"];

struct Spec {
    doc: Value,
    /// (path template, method, status) seen in the scenario.
    covered: BTreeSet<(String, String, u16)>,
}

impl Spec {
    fn load() -> Spec {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/openapi.yaml"))
            .expect("read assets/openapi.yaml");
        let doc: Value = serde_norway::from_str(&text).expect("openapi.yaml is valid YAML");
        Spec {
            doc,
            covered: BTreeSet::new(),
        }
    }

    /// Follows `$ref`s (`#/components/...`) until a non-reference object.
    fn resolve<'a>(&'a self, mut v: &'a Value) -> Result<&'a Value, String> {
        while let Some(reference) = v.get("$ref") {
            let reference = reference.as_str().ok_or("$ref must be a string")?;
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| format!("external $ref {reference}"))?;
            v = self
                .doc
                .pointer(pointer)
                .ok_or_else(|| format!("dangling $ref {reference}"))?;
        }
        Ok(v)
    }

    /// The path template matching a concrete path, e.g. `/record/{recordId}` for `/record/12`.
    fn template_for(&self, path: &str) -> Option<String> {
        let concrete: Vec<&str> = path.split('/').collect();
        self.doc["paths"]
            .as_object()?
            .keys()
            .find(|template| {
                let parts: Vec<&str> = template.split('/').collect();
                parts.len() == concrete.len()
                    && parts
                        .iter()
                        .zip(&concrete)
                        .all(|(t, c)| t == c || (t.starts_with('{') && t.ends_with('}')))
            })
            .cloned()
    }

    fn operation(&self, method: &str, path: &str) -> Result<(String, &Value), String> {
        let template = self
            .template_for(path)
            .ok_or_else(|| format!("path {path} is not documented"))?;
        let op = self.doc["paths"][&template]
            .get(method.to_ascii_lowercase())
            .ok_or_else(|| format!("{method} {template} is not documented"))?;
        Ok((template, op))
    }

    /// Checks a response against the documented operation and records the coverage.
    fn check(&mut self, resp: &Resp) {
        let (method, url) = resp.what.split_once(' ').unwrap();
        let url = reqwest::Url::parse(url).unwrap();
        let (template, op) = self
            .operation(method, url.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status.to_string();
        let documented = op["responses"].get(&status).unwrap_or_else(|| {
            panic!(
                "{} answered {status}, not documented for {method} {template}: {}",
                resp.what, resp.body
            )
        });
        let schema = self
            .response_schema(documented)
            .unwrap_or_else(|e| panic!("{method} {template} {status}: {e}"));
        if let Err(e) = self.validate(&resp.body, schema, "$") {
            panic!(
                "{} -> {status}: body {} does not match the spec: {e}",
                resp.what, resp.body
            );
        }
        // Query parameters sent must be documented for the operation.
        for (name, _) in url.query_pairs() {
            let documented = self
                .parameters(op)
                .iter()
                .any(|p| p["in"] == "query" && p["name"] == name.as_ref());
            assert!(
                documented,
                "query parameter {name} not documented for {method} {template}"
            );
        }
        self.covered
            .insert((template, method.to_ascii_lowercase(), resp.status));
    }

    /// Checks a request body sent in a success case against the operation's requestBody.
    fn check_request(&self, method: &str, path: &str, body: &Value) {
        let (template, op) = self.operation(method, path).unwrap();
        let schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
        assert!(!schema.is_null(), "{method} {template} documents no request body");
        if let Err(e) = self.validate(body, &schema, "$") {
            panic!("request body {body} for {method} {template} does not match the spec: {e}");
        }
    }

    fn parameters(&self, op: &Value) -> Vec<Value> {
        op["parameters"]
            .as_array()
            .map(|ps| ps.iter().map(|p| self.resolve(p).unwrap().clone()).collect())
            .unwrap_or_default()
    }

    fn response_schema<'a>(&'a self, response: &'a Value) -> Result<&'a Value, String> {
        let response = self.resolve(response)?;
        response["content"]["application/json"]
            .get("schema")
            .ok_or_else(|| "response has no application/json schema".to_owned())
    }

    /// Validates `value` against `schema`; rejects unknown keywords.
    fn validate(&self, value: &Value, schema: &Value, at: &str) -> Result<(), String> {
        let obj = schema
            .as_object()
            .ok_or_else(|| format!("{at}: schema is not an object"))?;
        if let Some(unknown) = obj.keys().find(|k| !SCHEMA_KEYWORDS.contains(&k.as_str())) {
            return Err(format!("{at}: unsupported schema keyword {unknown:?}"));
        }
        if obj.contains_key("$ref") {
            return self.validate(value, self.resolve(schema)?, at);
        }
        if value.is_null() && obj.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        if let Some(variants) = obj.get("oneOf") {
            let variants = variants
                .as_array()
                .ok_or_else(|| format!("{at}: oneOf must be a list"))?;
            let matching = variants
                .iter()
                .filter(|v| self.validate(value, v, at).is_ok())
                .count();
            if matching != 1 {
                return Err(format!(
                    "{at}: {value} matches {matching} oneOf variants, not exactly one"
                ));
            }
        }
        if let Some(ty) = obj.get("type") {
            let ty = ty
                .as_str()
                .filter(|t| TYPES.contains(t))
                .ok_or_else(|| format!("{at}: bad type {ty}"))?;
            let ok = match ty {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                _ => value.is_boolean(),
            };
            if !ok {
                return Err(format!("{at}: expected {ty}, got {value}"));
            }
        }
        if let Some(allowed) = obj.get("enum")
            && !allowed.as_array().is_some_and(|a| a.contains(value))
        {
            return Err(format!("{at}: {value} not in enum {allowed}"));
        }
        match obj.get("format").map(|f| f.as_str()) {
            None => {}
            Some(Some("date-time")) => {
                if let Some(text) = value.as_str() {
                    chrono::DateTime::parse_from_rfc3339(text)
                        .map_err(|e| format!("{at}: {text:?} is not a date-time: {e}"))?;
                }
            }
            Some(other) => return Err(format!("{at}: unsupported format {other:?}")),
        }
        if let Some(n) = value.as_f64() {
            if obj
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|min| n < min)
            {
                return Err(format!("{at}: {n} below minimum"));
            }
            if obj
                .get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|max| n > max)
            {
                return Err(format!("{at}: {n} above maximum"));
            }
        }
        if let Some(s) = value.as_str() {
            let len = s.chars().count() as u64;
            if obj
                .get("minLength")
                .and_then(Value::as_u64)
                .is_some_and(|min| len < min)
            {
                return Err(format!("{at}: string shorter than minLength"));
            }
            if obj
                .get("maxLength")
                .and_then(Value::as_u64)
                .is_some_and(|max| len > max)
            {
                return Err(format!("{at}: string longer than maxLength"));
            }
            if let Some(pattern) = obj.get("pattern") {
                let pattern = pattern
                    .as_str()
                    .ok_or_else(|| format!("{at}: pattern must be a string"))?;
                let regex = regex::Regex::new(pattern).map_err(|e| format!("{at}: bad pattern: {e}"))?;
                if !regex.is_match(s) {
                    return Err(format!("{at}: {s:?} does not match {pattern}"));
                }
            }
        }
        if let Some(array) = value.as_array() {
            let len = array.len() as u64;
            if obj
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|min| len < min)
            {
                return Err(format!("{at}: fewer than minItems"));
            }
            if obj
                .get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|max| len > max)
            {
                return Err(format!("{at}: more than maxItems"));
            }
        }
        if let Some(map) = value.as_object() {
            let props = obj.get("properties").and_then(Value::as_object);
            for name in obj
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = name
                    .as_str()
                    .ok_or_else(|| format!("{at}: required entries must be strings"))?;
                if !map.contains_key(name) {
                    return Err(format!("{at}: missing required property {name}"));
                }
            }
            match obj.get("additionalProperties") {
                None | Some(Value::Bool(true)) => {}
                Some(Value::Bool(false)) => {
                    if let Some(extra) = map.keys().find(|k| !props.is_some_and(|p| p.contains_key(*k))) {
                        return Err(format!("{at}: undocumented property {extra}"));
                    }
                }
                Some(other) => return Err(format!("{at}: unsupported additionalProperties {other}")),
            }
            for (name, sub) in props.into_iter().flatten() {
                if let Some(v) = map.get(name) {
                    self.validate(v, sub, &format!("{at}.{name}"))?;
                }
            }
        }
        if let (Some(items), Some(array)) = (obj.get("items"), value.as_array()) {
            for (i, v) in array.iter().enumerate() {
                self.validate(v, items, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }

    /// Static check of every schema in the document: only known keywords, types and formats,
    /// and every `$ref` resolves.
    fn lint(&self) -> Result<(), String> {
        for (name, schema) in self.doc["components"]["schemas"]
            .as_object()
            .ok_or("no components.schemas")?
        {
            self.lint_schema(schema, &format!("components.schemas.{name}"))?;
        }
        for (template, item) in self.doc["paths"].as_object().ok_or("no paths")? {
            for (method, op) in item.as_object().ok_or("path item is not an object")? {
                if !METHODS.contains(&method.as_str()) {
                    return Err(format!("{template}: unsupported key {method}"));
                }
                let at = format!("{method} {template}");
                if let Some(key) = op
                    .as_object()
                    .unwrap()
                    .keys()
                    .find(|k| !OPERATION_KEYS.contains(&k.as_str()))
                {
                    return Err(format!("{at}: unsupported key {key}"));
                }
                for p in self.parameters(op) {
                    self.lint_schema(&p["schema"], &format!("{at} parameter {}", p["name"]))?;
                }
                if let Some(body) = op.get("requestBody") {
                    self.lint_schema(
                        &body["content"]["application/json"]["schema"],
                        &format!("{at} requestBody"),
                    )?;
                }
                for (status, response) in op["responses"]
                    .as_object()
                    .ok_or_else(|| format!("{at}: no responses"))?
                {
                    if status.len() != 3 || status.parse::<u16>().is_err() {
                        return Err(format!("{at}: bad status {status}"));
                    }
                    self.lint_schema(self.response_schema(response)?, &format!("{at} {status}"))?;
                }
            }
        }
        Ok(())
    }

    fn lint_schema(&self, schema: &Value, at: &str) -> Result<(), String> {
        let obj = schema
            .as_object()
            .ok_or_else(|| format!("{at}: schema is not an object"))?;
        if let Some(unknown) = obj.keys().find(|k| !SCHEMA_KEYWORDS.contains(&k.as_str())) {
            return Err(format!("{at}: unsupported schema keyword {unknown:?}"));
        }
        if obj.contains_key("$ref") {
            self.resolve(schema)?;
        }
        if let Some(ty) = obj.get("type")
            && !ty.as_str().is_some_and(|t| TYPES.contains(&t))
        {
            return Err(format!("{at}: unsupported type {ty}"));
        }
        if let Some(format) = obj.get("format")
            && format != "date-time"
        {
            return Err(format!("{at}: unsupported format {format}"));
        }
        for (name, sub) in obj
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            self.lint_schema(sub, &format!("{at}.{name}"))?;
        }
        if let Some(items) = obj.get("items") {
            self.lint_schema(items, &format!("{at}[]"))?;
        }
        for (i, v) in obj
            .get("oneOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            self.lint_schema(v, &format!("{at}.oneOf[{i}]"))?;
        }
        Ok(())
    }

    /// Every (path, method) in the spec.
    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (template, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                ops.insert((template.clone(), method.clone()));
            }
        }
        ops
    }
}

#[test]
fn checker_rejects_drift() {
    let spec = Spec::load();
    spec.lint().expect("spec uses only supported constructs");
    let error = json!({"$ref": "#/components/schemas/ErrorForbidden"});
    assert!(
        spec.validate(&json!({"code": 403001, "msg": "x"}), &error, "$")
            .is_ok()
    );
    assert!(
        spec.validate(&json!({"code": 404001, "msg": "x"}), &error, "$")
            .is_err(),
        "enum"
    );
    assert!(
        spec.validate(&json!({"code": 403001}), &error, "$").is_err(),
        "required"
    );
    assert!(
        spec.validate(&json!({"code": 403001, "msg": "x", "data": 1}), &error, "$")
            .is_err(),
        "additionalProperties"
    );
    assert!(
        spec.validate(&json!("x"), &json!({"type": "string", "not": {}}), "$")
            .is_err(),
        "unknown keyword"
    );
    let pattern = json!({"type": "string", "pattern": "^[a-z]{1,3}$"});
    assert!(spec.validate(&json!("abc"), &pattern, "$").is_ok());
    assert!(spec.validate(&json!("abcd"), &pattern, "$").is_err(), "pattern");
    let items = json!({"type": "array", "minItems": 1, "maxItems": 2});
    assert!(spec.validate(&json!([]), &items, "$").is_err(), "minItems");
    assert!(spec.validate(&json!([1, 2, 3]), &items, "$").is_err(), "maxItems");
    assert!(
        spec.validate(
            &json!("yesterday"),
            &json!({"type": "string", "format": "date-time"}),
            "$"
        )
        .is_err()
    );
    let module = json!({"$ref": "#/components/schemas/ModuleCodeInput"});
    assert!(spec.validate(&json!(101), &module, "$").is_ok());
    assert!(spec.validate(&json!("103"), &module, "$").is_err(), "oneOf");
    let mut bad = Spec::load();
    bad.doc["components"]["schemas"]["BackupFile"]["allOf"] = json!([]);
    assert!(bad.lint().is_err());
}

/// Runs one request, checks the answer against the spec, and returns it.
async fn call(spec: &mut Spec, req: support::Req) -> Resp {
    let resp = req.send().await;
    spec.check(&resp);
    resp
}

#[tokio::test]
async fn served_responses_match_the_spec() {
    let mut spec = Spec::load();
    spec.lint().unwrap();
    let ts: TestServer = spawn_server().await;
    let lock_path = format!("{PREFIX}/lock");
    let records = format!("{PREFIX}/record");
    let s = &mut spec;

    // Locks.
    let body = json!({"moduleCode": "100"});
    s.check_request("POST", &lock_path, &body);
    let resp = call(s, ts.req("POST", &lock_path).json(body.clone())).await;
    resp.expect_ok();
    let lock = resp.body["data"]["lockId"].as_str().unwrap().to_owned();
    call(s, ts.req("POST", &lock_path).json(body.clone()))
        .await
        .expect(409, 409001);
    call(s, ts.req("POST", &lock_path).json(json!({"moduleCode": "7"})))
        .await
        .expect(400, 400001);
    call(s, ts.req("POST", &lock_path).raw("x".repeat(70_000)))
        .await
        .expect(413, 400001);
    call(s, ts.req("POST", &lock_path).without("X-Date").json(body.clone()))
        .await
        .expect(401, 401002);
    call(s, ts.req("PATCH", &lock_path).lock(&lock)).await.expect_ok();
    call(s, ts.req("PATCH", &lock_path).user(BOB).lock(&lock))
        .await
        .expect(403, 403001);
    call(s, ts.req("PATCH", &lock_path).lock("gone@100"))
        .await
        .expect(404, 404002);
    call(s, ts.req("DELETE", &lock_path).user(BOB).lock(&lock))
        .await
        .expect(403, 403001);
    call(s, ts.req("DELETE", &lock_path).lock("gone@100"))
        .await
        .expect(404, 404002);
    call(
        s,
        ts.req("DELETE", &lock_path)
            .header("Authorization", "Bearer x")
            .lock(&lock),
    )
    .await
    .expect(401, 401001);

    // Records.
    let body = json!({"moduleCode": "100", "deviceId": "nas", "properties": "{\"a\":1}"});
    s.check_request("POST", &records, &body);
    s.check_request("POST", &records, &json!({"moduleCode": 100, "deviceId": 42}));
    let resp = call(s, ts.req("POST", &records).lock(&lock).json(body.clone())).await;
    resp.expect_ok();
    let id = resp.body["data"]["recordId"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        ts.record(ALICE, &lock, "100", "nas").await;
    }
    let album = ts.lock(ALICE, "101").await;
    call(s, ts.req("POST", &records).lock(&album).json(body.clone()))
        .await
        .expect(409, 409003);
    call(s, ts.req("POST", &records).json(body.clone()))
        .await
        .expect(404, 404002);
    call(
        s,
        ts.req("POST", &records).user(BOB).lock(&lock).json(body.clone()),
    )
    .await
    .expect(403, 403001);
    call(s, ts.req("POST", &records).lock(&lock).raw("{"))
        .await
        .expect(400, 400001);
    call(s, ts.req("POST", &records).lock(&lock).raw("x".repeat(70_000)))
        .await
        .expect(413, 400001);

    let page = [("moduleCode", "100"), ("pageSize", "2"), ("deviceId", "nas")];
    let resp = call(s, ts.req("GET", &records).query(&page)).await;
    resp.expect_ok();
    let cursor = resp.body["nextCursor"].as_str().unwrap().to_owned();
    let resp = call(
        s,
        ts.req("GET", &records)
            .query(&[("moduleCode", "100"), ("pageSize", "2"), ("cursor", &cursor)]),
    )
    .await;
    resp.expect_ok();
    assert!(resp.body.get("nextCursor").is_none());
    call(
        s,
        ts.req("GET", &records)
            .query(&[("moduleCode", "100"), ("pageSize", "0")]),
    )
    .await
    .expect(400, 400001);
    let long = "A".repeat(2000);
    call(
        s,
        ts.req("GET", &records)
            .query(&[("moduleCode", "100"), ("pageSize", "5"), ("cursor", &long)]),
    )
    .await
    .expect(400, 400001);
    call(
        s,
        ts.req("GET", &records)
            .header("X-Date", "yesterday")
            .query(&[("moduleCode", "100"), ("pageSize", "5")]),
    )
    .await
    .expect(401, 401002);

    let record = format!("{records}/{id}");
    call(s, ts.req("GET", &record)).await.expect_ok();
    call(s, ts.req("GET", &record).user(BOB))
        .await
        .expect(403, 403001);
    call(s, ts.req("GET", &format!("{records}/1")))
        .await
        .expect(404, 404001);

    insert_files(&ts.db_path, &id, 3);
    let files = format!("{record}/files");
    let resp = call(s, ts.req("GET", &files).query(&[("pageSize", "2")])).await;
    resp.expect_ok();
    assert!(resp.body["nextCursor"].is_string());
    call(s, ts.req("GET", &files).query(&[("pageSize", "500")]))
        .await
        .expect(400, 400001);
    call(s, ts.req("GET", &files).user(BOB).query(&[("pageSize", "2")]))
        .await
        .expect(403, 403001);
    call(
        s,
        ts.req("GET", &format!("{records}/1/files"))
            .query(&[("pageSize", "2")]),
    )
    .await
    .expect(404, 404001);

    let complete = json!({"properties": "{\"done\":true}"});
    s.check_request("PATCH", &record, &complete);
    call(s, ts.req("PATCH", &record).lock(&lock).json(complete.clone()))
        .await
        .expect_ok();
    call(
        s,
        ts.req("PATCH", &record)
            .lock(&lock)
            .json(json!({"properties": 5})),
    )
    .await
    .expect(400, 400001);
    call(s, ts.req("PATCH", &record).lock(&album))
        .await
        .expect(409, 409003);
    call(s, ts.req("PATCH", &record)).await.expect(404, 404002);
    call(s, ts.req("PATCH", &format!("{records}/1")).lock(&lock))
        .await
        .expect(404, 404001);
    call(s, ts.req("PATCH", &record).user(BOB).lock(&lock))
        .await
        .expect(403, 403001);
    call(s, ts.req("PATCH", &record).lock(&lock).raw("x".repeat(70_000)))
        .await
        .expect(413, 400001);
    call(s, ts.req("DELETE", &record).lock(&album))
        .await
        .expect(409, 409003);
    call(s, ts.req("DELETE", &record).user(BOB).lock(&lock))
        .await
        .expect(403, 403001);
    call(s, ts.req("DELETE", &record)).await.expect(404, 404002);
    call(s, ts.req("DELETE", &record).lock(&lock)).await.expect_ok();
    call(s, ts.req("DELETE", &record).lock(&lock))
        .await
        .expect(404, 404001);

    // Devices, scopes, configs, files.
    let devices = format!("{PREFIX}/device");
    let bind = json!({"machineCode": "20250911", "deviceName": "Magic v3", "deviceOS": "android"});
    s.check_request("POST", &devices, &bind);
    let bound = call(s, ts.req("POST", &devices).json(bind.clone())).await;
    bound.expect_ok();
    let device_id = bound.body["data"]["deviceId"].as_str().unwrap().to_owned();
    call(
        s,
        ts.req("POST", &devices).json(json!({"machineCode": "no spaces"})),
    )
    .await
    .expect(400, 400001);
    call(s, ts.req("POST", &devices).without("X-Date").json(bind.clone()))
        .await
        .expect(401, 401002);
    call(s, ts.req("POST", &devices).raw("x".repeat(70_000)))
        .await
        .expect(413, 400001);
    call(s, ts.req("GET", &devices)).await.expect_ok();
    call(s, ts.req("GET", &devices).user((ALICE.0, "wrong")))
        .await
        .expect(401, 401001);
    let device = format!("{devices}/{device_id}");
    let scopes = format!("{device}/scope");
    let add =
        json!({"moduleCode": "101", "scopeList": [{"localPath": "/DCIM", "targetFolderPath": "/Photos"}]});
    s.check_request("POST", &scopes, &add);
    let added = call(s, ts.req("POST", &scopes).json(add.clone())).await;
    added.expect_ok();
    let scope_id = added.body["data"][0]["scopeId"].as_str().unwrap().to_owned();
    call(
        s,
        ts.req("POST", &scopes)
            .json(json!({"moduleCode": "101", "scopeList": [{}]})),
    )
    .await
    .expect(400, 400001);
    call(s, ts.req("POST", &scopes).user(BOB).json(add.clone()))
        .await
        .expect(404, 404003);
    let module_query = [("moduleCode", "101")];
    call(s, ts.req("GET", &scopes).query(&module_query))
        .await
        .expect_ok();
    call(s, ts.req("GET", &scopes).query(&[("moduleCode", "7")]))
        .await
        .expect(400, 400001);
    call(
        s,
        ts.req("GET", &format!("{devices}/1/scope")).query(&module_query),
    )
    .await
    .expect(404, 404003);
    let delete = json!({"scopeIdList": [scope_id, "424242"]});
    s.check_request("DELETE", &scopes, &delete);
    let deleted = call(s, ts.req("DELETE", &scopes).json(delete)).await;
    deleted.expect_ok();
    assert_eq!(deleted.body["failedScopeList"][0]["errorCode"], json!("404004"));
    call(s, ts.req("DELETE", &scopes).json(json!({"scopeIdList": []})))
        .await
        .expect(400, 400001);
    call(
        s,
        ts.req("DELETE", &format!("{devices}/1/scope"))
            .json(json!({"scopeIdList": ["1"]})),
    )
    .await
    .expect(404, 404003);
    let config = format!("{device}/config");
    let wifi = [("moduleCode", "101"), ("configName", "wifi_only")];
    call(s, ts.req("GET", &config).query(&wifi)).await.expect_ok();
    call(
        s,
        ts.req("GET", &config)
            .query(&[("moduleCode", "101"), ("configName", "nope")]),
    )
    .await
    .expect(404, 404005);
    call(
        s,
        ts.req("GET", &config)
            .query(&[("moduleCode", "101"), ("configName", "bad name")]),
    )
    .await
    .expect(400, 400001);
    let set = json!({"moduleCode": "101", "configName": "wifi_only", "currentConfigValue": "on", "newConfigValue": "off"});
    s.check_request("PATCH", &config, &set);
    call(s, ts.req("PATCH", &config).json(set.clone()))
        .await
        .expect_ok();
    call(s, ts.req("PATCH", &config).json(set.clone()))
        .await
        .expect(409, 409004);
    call(s, ts.req("PATCH", &format!("{devices}/1/config")).json(set))
        .await
        .expect(404, 404003);
    let configs = format!("{device}/configs");
    call(s, ts.req("GET", &configs).query(&module_query))
        .await
        .expect_ok();
    call(s, ts.req("GET", &configs)).await.expect(400, 400001);
    call(s, ts.req("GET", &configs).user(BOB).query(&module_query))
        .await
        .expect(404, 404003);
    let fresh = ts.record(ALICE, &lock, "100", "nas").await["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    let file_path = format!("{records}/{fresh}/file");
    let file = json!({"fileName": "IMG_0001.jpg", "sha256": "ab12", "length": 4096, "description": "a photo", "parentFolder": ["root"]});
    s.check_request("POST", &file_path, &file);
    call(s, ts.req("POST", &file_path).lock(&lock).json(file.clone()))
        .await
        .expect_ok();
    call(
        s,
        ts.req("POST", &file_path)
            .lock(&lock)
            .json(json!({"fileName": "a/b"})),
    )
    .await
    .expect(400, 400001);
    call(s, ts.req("POST", &file_path).json(file.clone()))
        .await
        .expect(404, 404002);
    call(s, ts.req("POST", &file_path).lock(&album).json(file.clone()))
        .await
        .expect(409, 409003);
    call(s, ts.req("POST", &file_path).user(BOB).lock(&lock).json(file))
        .await
        .expect(403, 403001);
    call(s, ts.req("DELETE", &device)).await.expect_ok();
    call(s, ts.req("DELETE", &device)).await.expect(404, 404003);
    call(s, ts.req("DELETE", &device).without("X-Date"))
        .await
        .expect(401, 401002);

    // Expired locks: 409002 on record operations and on a too-late renewal. The server clock is
    // moved an hour ahead (and X-Date with it) instead of waiting for the locks to expire.
    let id = ts.record(ALICE, &lock, "100", "nas").await["recordId"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = format!("{records}/{id}");
    let hour = chrono::Duration::hours(1);
    ts.server.set_faults(koobackup::server::Faults {
        clock_offset: hour,
        ..Default::default()
    });
    let later = support::x_date(chrono::Utc::now() + hour);
    let late = |m: &str, p: &str| ts.req(m, p).header("X-Date", &later);
    call(s, late("POST", &records).lock(&lock).json(body.clone()))
        .await
        .expect(409, 409002);
    call(s, late("PATCH", &record).lock(&lock))
        .await
        .expect(409, 409002);
    call(s, late("DELETE", &record).lock(&lock))
        .await
        .expect(409, 409002);
    call(s, late("PATCH", &lock_path).lock(&lock))
        .await
        .expect(409, 409002);
    call(s, late("DELETE", &lock_path).lock(&lock)).await.expect_ok();
    ts.server.set_faults(koobackup::server::Faults::default());

    // Faults.
    ts.server.set_faults(koobackup::server::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    call(s, ts.req("GET", &record)).await.expect(500, 500001);
    call(s, ts.req("GET", &format!("{PREFIX}/device")))
        .await
        .expect(500, 500001);
    ts.server.set_faults(koobackup::server::Faults {
        rate_limit_per_sec: Some(1),
        ..Default::default()
    });
    call(s, ts.req("GET", &record)).await.expect_ok();
    call(s, ts.req("GET", &record)).await.expect(429, 429001);
    ts.server.set_faults(koobackup::server::Faults::default());

    // Outside the operations: unknown path and wrong method are ErrorBadRequest envelopes.
    let error = json!({"$ref": "#/components/schemas/ErrorBadRequest"});
    for (method, path, status) in [
        ("GET", "/nowhere".to_owned(), 404),
        ("PUT", lock_path.clone(), 405),
    ] {
        let resp = ts.req(method, &path).send().await;
        assert_eq!(resp.status, status);
        s.validate(&resp.body, &error, "$").unwrap();
    }

    // Every operation was exercised with its success status and at least two error statuses.
    for (template, method) in s.operations() {
        let statuses: Vec<u16> = s
            .covered
            .iter()
            .filter(|(t, m, _)| *t == template && *m == method)
            .map(|(_, _, status)| *status)
            .collect();
        assert!(
            statuses.contains(&200),
            "{method} {template}: success not exercised"
        );
        assert!(
            statuses.len() >= 3,
            "{method} {template}: only {statuses:?} exercised"
        );
    }
}

/// The same spec for app-signed requests: successes, the listing with a query, and the refusals
/// of a wrong signature and an unknown app, all documented.
#[tokio::test]
async fn signed_requests_get_documented_answers() {
    let mut spec = Spec::load();
    let ts: TestServer = spawn_server().await;
    let (lock_path, records) = (format!("{PREFIX}/lock"), format!("{PREFIX}/record"));
    let s = &mut spec;
    let signed = |method: &str, path: &str| ts.req(method, path).app_signed(support::APP);
    let resp = call(s, signed("POST", &lock_path).json(json!({"moduleCode": "102"}))).await;
    resp.expect_ok();
    let lock = resp.body["data"]["lockId"].as_str().unwrap().to_owned();
    let body = json!({"moduleCode": "102", "deviceId": "pixel 7 ü", "properties": "{\"n\":1}"});
    call(s, signed("POST", &records).lock(&lock).json(body))
        .await
        .expect_ok();
    let listed = call(
        s,
        signed("GET", &records).query(&[
            ("pageSize", "10"),
            ("moduleCode", "102"),
            ("deviceId", "pixel 7 ü"),
        ]),
    )
    .await;
    listed.expect_ok();
    assert_eq!(listed.body["data"].as_array().unwrap().len(), 1);
    call(s, signed("PATCH", &lock_path).lock(&lock)).await.expect_ok();
    call(
        s,
        ts.req("GET", &records)
            .query(&[("pageSize", "10"), ("moduleCode", "102")])
            .app_signed((support::APP.0, "wrong")),
    )
    .await
    .expect(401, 401001);
    call(
        s,
        ts.req("PATCH", &lock_path)
            .lock(&lock)
            .app_signed(("no-such-app", support::APP.1)),
    )
    .await
    .expect(401, 401001);
    call(s, signed("DELETE", &lock_path).lock(&lock))
        .await
        .expect_ok();
}
