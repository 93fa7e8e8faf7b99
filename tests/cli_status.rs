//! `kubectl-pki status` from the command line, without a cluster: `--file`
//! and `--k3s-dir` only. Certificates come from kubectl-pki-testkit (and RSA
//! from the openssl CLI); dates are fixed far from now, or relative to
//! today where a status depends on it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use base64::Engine;
use kubectl_pki_testkit::{FAR, PAST, TestCert, Ymd, between, dated, in_days, named, with_params};
use rcgen::DnType;
use serde_json::Value;

fn ca(cn: &str) -> TestCert {
    dated(cn, true, PAST, FAR, None)
}

fn leaf(cn: &str, from: Ymd, to: Ymd, issuer: &TestCert) -> TestCert {
    dated(cn, false, from, to, Some(issuer))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The binary with no usable kubeconfig: any cluster access would fail.
fn pki(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kubectl-pki").unwrap();
    cmd.env("KUBECONFIG", dir.join("no-such-kubeconfig")).env("HOME", dir).env("NO_COLOR", "1");
    cmd.arg("status");
    cmd
}

fn json(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = pki(dir).args(args).args(["-o", "json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap(), v)
}

fn statuses(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn all_ok_exits_0_with_a_kubectl_style_table() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("kubernetes");
    let f = write(dir.path(), "ca.crt", &root.pem);
    let out = pki(dir.path()).arg("--file").arg(&f).assert().code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = text.lines().next().unwrap();
    for col in ["NAME", "SUBJECT", "RESIDUAL", "CA", "CHAIN", "STATUS"] {
        assert!(header.contains(col), "{header}");
    }
    let row = text.lines().nth(1).unwrap();
    for cell in ["kubernetes", "yes", "self-signed", "ok"] {
        assert!(row.contains(cell), "{cell} missing in {row}");
    }
    // Every column with -o wide.
    let out = pki(dir.path()).arg("--file").arg(&f).args(["-o", "wide"]).assert().code(0);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = text.lines().next().unwrap();
    for col in
        ["SOURCE", "NAME", "SUBJECT", "ISSUER", "KEY", "NOT BEFORE", "NOT AFTER", "RESIDUAL", "CA", "CHAIN", "STATUS", "SANS", "SERIAL"]
    {
        assert!(header.contains(col), "{header}");
    }
    let row = text.lines().nth(1).unwrap();
    for cell in ["file", "kubernetes", "ECDSA-P256", "2090-01-01T00:00:00Z", "yes", "self-signed", "ok"] {
        assert!(row.contains(cell), "{cell} missing in {row}");
    }
}

#[test]
fn expiring_exits_3_and_warn_within_moves_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("root");
    let soon = leaf("soon", PAST, in_days(10), &root);
    let f = write(dir.path(), "soon.crt", &soon.pem);
    let (code, v) = json(dir.path(), &["--file", f.to_str().unwrap()]);
    assert_eq!((code, statuses(&v)), (3, vec!["expiring".to_string()]));
    let (code, v) = json(dir.path(), &["--file", f.to_str().unwrap(), "--warn-within", "5d"]);
    assert_eq!((code, statuses(&v)), (0, vec!["ok".to_string()]));
    let (code, _) = json(dir.path(), &["--file", f.to_str().unwrap(), "--warn-within", "12d"]);
    assert_eq!(code, 3);
}

#[test]
fn expired_and_not_yet_valid_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("root");
    let expired = write(dir.path(), "expired.crt", &leaf("old", PAST, (2021, 1, 1), &root).pem);
    let future = write(dir.path(), "future.crt", &leaf("new", in_days(30), FAR, &root).pem);
    let (code, v) = json(dir.path(), &["--file", expired.to_str().unwrap(), "--file", future.to_str().unwrap()]);
    assert_eq!(code, 4);
    assert_eq!(statuses(&v), ["expired", "not-yet-valid"]);
    assert_eq!(v["items"][0]["residual"], "<invalid>");
}

#[test]
fn garbage_and_truncated_files_are_invalid_rows_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("root");
    let garbage = write(dir.path(), "garbage.crt", "this is not a certificate\n");
    let truncated = write(dir.path(), "cut.crt", &root.pem[..root.pem.len() / 2]);
    let out = pki(dir.path()).arg("--file").arg(&garbage).arg("--file").arg(&truncated).assert().code(4);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.lines().next().unwrap().contains("MESSAGE"));
    assert!(text.contains("no certificate found"), "{text}");
    assert!(text.contains("truncated PEM"), "{text}");
    assert_eq!(text.matches("invalid").count(), 2, "{text}");
}

#[test]
fn errors_exit_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.crt");
    let out = pki(dir.path()).arg("--file").arg(&missing).assert().code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: ") && err.contains("missing.crt"), "{err}");

    let f = write(dir.path(), "ca.crt", &ca("x").pem);
    let out = pki(dir.path()).arg("--file").arg(&f).args(["--warn-within", "soon"]).assert().code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("--warn-within"));
    let out = pki(dir.path()).args(["--source", "file"]).assert().code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("needs --file"));
}

#[test]
fn only_offline_flags_never_read_the_kubeconfig() {
    // With cluster sources the missing kubeconfig is an error...
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ca.crt", &ca("x").pem);
    pki(dir.path()).args(["--source", "kubeconfig,file"]).arg("--file").arg(&f).assert().code(1);
    // ...and with --file alone it is never touched.
    pki(dir.path()).arg("--file").arg(&f).assert().code(0);
}

#[test]
fn json_schema_of_an_item() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("kubernetes");
    let mut p = between(named("kubernetes-admin", false), PAST, FAR);
    p.distinguished_name.push(DnType::OrganizationName, "system:masters");
    let admin = with_params(p, Some(&root));
    let bundle = write(dir.path(), "bundle.pem", &format!("client:\n{}\nissuer:\n{}", admin.pem, root.pem));
    let (code, v) = json(dir.path(), &["--file", bundle.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["apiVersion"], "pki.kubectl.io/v1alpha1");
    assert_eq!(v["kind"], "CertificateStatusList");
    let item = &v["items"][0];
    assert_eq!(item["source"], "file");
    assert_eq!(item["name"], format!("{}[0]", bundle.display()));
    assert_eq!(item["location"]["path"], bundle.display().to_string());
    assert_eq!(item["location"]["index"], 0);
    assert_eq!((&item["location"]["configMap"], &item["location"]["object"]), (&Value::Null, &Value::Null));
    let c = &item["certificate"];
    assert_eq!(c["commonName"], "kubernetes-admin");
    assert_eq!(c["organizations"], serde_json::json!(["system:masters"]));
    assert_eq!(c["issuerCommonName"], "kubernetes");
    assert_eq!(c["keyType"], "ECDSA-P256");
    assert_eq!(c["notBefore"], "2020-01-01T00:00:00Z");
    assert_eq!(c["notAfter"], "2090-01-01T00:00:00Z");
    assert_eq!(c["isCa"], false);
    assert_eq!(c["sans"], serde_json::json!(["kubernetes-admin.example"]));
    for field in ["subject", "issuer", "serial", "sha256"] {
        assert!(c[field].is_string(), "{field}");
    }
    assert_eq!(item["chain"], serde_json::json!({"verdict": "verified", "to": "kubernetes"}));
    assert_eq!(v["items"][1]["chain"]["verdict"], "self-signed");
    assert!(item["residual"].as_str().unwrap().ends_with('y'));
    assert_eq!(item["message"], Value::Null);
}

#[test]
fn yaml_wide_and_summary_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("root");
    let ok = write(dir.path(), "ca.crt", &root.pem);
    let old = write(dir.path(), "old.crt", &leaf("old", PAST, (2021, 1, 1), &root).pem);
    let args = |extra: &[&str]| {
        let mut a = vec!["--file", ok.to_str().unwrap(), "--file", old.to_str().unwrap()];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };

    let out = pki(dir.path()).args(args(&["-o", "yaml"])).assert().code(4);
    let v: Value = serde_saphyr::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["kind"], "CertificateStatusList");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert_eq!(v["items"][1]["status"], "expired");

    let out = pki(dir.path()).args(args(&["-o", "wide"])).assert().code(4);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains("NOT BEFORE") && header.contains("SANS") && header.contains("SERIAL"), "{header}");
    assert!(text.contains("2020-01-01T00:00:00Z") && text.contains("old.example"), "{text}");

    let out = pki(dir.path()).args(args(&["--summary"])).assert().code(4);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let line = |s: &str| text.lines().find(|l| l.starts_with(s)).map(|l| l.split_whitespace().collect::<Vec<_>>());
    assert_eq!(line("ok").unwrap(), ["ok", "1"]);
    assert_eq!(line("expired").unwrap(), ["expired", "1"]);
    assert_eq!(line("total").unwrap(), ["total", "2"]);

    let out = pki(dir.path()).args(args(&["--summary", "-o", "json"])).assert().code(4);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["kind"], "CertificateStatusSummary");
    assert_eq!(
        v["counts"],
        serde_json::json!({"ok": 1, "expiring": 0, "expired": 1, "not-yet-valid": 0, "invalid": 0, "pending-restart": 0, "mismatch": 0, "unreachable": 0})
    );
}

#[test]
fn kubeconfig_and_talosconfig_files_and_no_private_key_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("kubernetes");
    let admin = leaf("kubernetes-admin", PAST, FAR, &root);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let kc = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    certificate-authority-data: {}\n\
         contexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n\
         users:\n- name: u\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
        b64(&root.pem),
        b64(&admin.pem),
        b64(&admin.key_pem)
    );
    let kc_path = write(dir.path(), "admin.conf", &kc);
    let talos_ca = ca("talos");
    let talos_admin = leaf("admin", PAST, FAR, &talos_ca);
    let talos = format!(
        "context: prod\ncontexts:\n  prod:\n    endpoints: [10.0.0.2]\n    ca: {}\n    crt: {}\n    key: {}\n",
        b64(&talos_ca.pem),
        b64(&talos_admin.pem),
        b64(&talos_admin.key_pem)
    );
    let talos_path = write(dir.path(), "talosconfig", &talos);
    let with_key = write(dir.path(), "with-key.pem", &format!("{}{}", admin.pem, admin.key_pem));
    let (code, v) = json(
        dir.path(),
        &["--file", kc_path.to_str().unwrap(), "--file", talos_path.to_str().unwrap(), "--file", with_key.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{v}");
    let names: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    let kcs = kc_path.display().to_string();
    let ts = talos_path.display().to_string();
    assert_eq!(
        names,
        [
            format!("{kcs}:ca"),
            format!("{kcs}:client"),
            format!("{ts}:prod/ca"),
            format!("{ts}:prod/client"),
            with_key.display().to_string()
        ]
    );
    assert_eq!(v["items"][1]["chain"]["verdict"], "verified");
    assert_eq!(v["items"][3]["chain"], serde_json::json!({"verdict": "verified", "to": "talos"}));
    for format in ["table", "wide", "json", "yaml"] {
        let out = pki(dir.path()).arg("--file").arg(&kc_path).arg("--file").arg(&with_key).args(["-o", format]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains("PRIVATE KEY"), "{format}");
        let key_body: String = admin.key_pem.lines().nth(1).unwrap().to_owned();
        assert!(!text.contains(&key_body) && !text.contains(&b64(&admin.key_pem)), "{format}");
    }
}

#[test]
fn k3s_layout_lists_leaves_and_their_cas() {
    let dir = tempfile::tempdir().unwrap();
    let tls = dir.path().join("server/tls");
    let server_ca = ca("k3s-server-ca");
    let client_ca = ca("k3s-client-ca");
    let etcd_ca = ca("etcd-server-ca");
    write(&tls, "server-ca.crt", &server_ca.pem);
    write(&tls, "server-ca.key", &server_ca.key_pem);
    write(&tls, "client-ca.crt", &client_ca.pem);
    let admin = leaf("system:admin", PAST, FAR, &client_ca);
    write(&tls, "client-admin.crt", &format!("{}{}", admin.pem, client_ca.pem));
    let serving = leaf("kube-apiserver", PAST, in_days(20), &server_ca);
    write(&tls, "serving-kube-apiserver.crt", &format!("{}{}", serving.pem, server_ca.pem));
    write(&tls, "etcd/server-ca.crt", &etcd_ca.pem);
    let stray = leaf("stray", PAST, FAR, &ca("someone-else"));
    write(&tls, "etcd/client.crt", &stray.pem);

    let (code, v) = json(dir.path(), &["--k3s-dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 4, "etcd/client.crt does not chain to the etcd CA: as critical as expired");
    let rows: Vec<(String, String, String)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap().into(), i["chain"]["verdict"].as_str().unwrap().into(), i["status"].as_str().unwrap().into()))
        .collect();
    let expect = [
        ("server/tls/client-admin.crt[0]", "verified", "ok"),
        ("server/tls/client-admin.crt[1]", "self-signed", "ok"),
        ("server/tls/client-ca.crt", "self-signed", "ok"),
        ("server/tls/etcd/client.crt", "unverified", "ok"),
        ("server/tls/etcd/server-ca.crt", "self-signed", "ok"),
        ("server/tls/server-ca.crt", "self-signed", "ok"),
        ("server/tls/serving-kube-apiserver.crt[0]", "verified", "expiring"),
        ("server/tls/serving-kube-apiserver.crt[1]", "self-signed", "ok"),
    ];
    let expect: Vec<(String, String, String)> = expect.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(rows, expect);
    // server/tls itself works too.
    let (code, v) = json(dir.path(), &["--k3s-dir", tls.to_str().unwrap()]);
    assert_eq!((code, v["items"].as_array().unwrap().len()), (4, 8));
    // Without the stray certificate only the expiring one remains: exit 3.
    std::fs::remove_file(tls.join("etcd/client.crt")).unwrap();
    let (code, v) = json(dir.path(), &["--k3s-dir", dir.path().to_str().unwrap()]);
    assert_eq!((code, v["items"].as_array().unwrap().len()), (3, 7), "the serving certificate expires in 20 days");
}

#[test]
fn rsa_certificates_from_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "400", "-subj", "/CN=rsa-ca/O=acme"])
        .args(["-keyout", "rsa.key", "-out", "rsa.crt"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let (code, v) = json(dir.path(), &["--file", dir.path().join("rsa.crt").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["items"][0]["certificate"]["keyType"], "RSA-2048");
    assert_eq!(v["items"][0]["certificate"]["organizations"], serde_json::json!(["acme"]));
    assert!(v["items"][0]["residual"].as_str().unwrap().ends_with('d'));
}

#[test]
fn kubeconfig_source_follows_file_paths_without_contacting_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("kubernetes");
    let mut p = between(named("jane", false), PAST, FAR);
    p.distinguished_name.push(DnType::OrganizationName, "devs");
    let jane = with_params(p, Some(&root));
    write(dir.path(), "pki/ca.crt", &root.pem);
    write(dir.path(), "pki/jane.crt", &jane.pem);
    write(dir.path(), "pki/jane.key", &jane.key_pem);
    let kc = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    certificate-authority: pki/ca.crt\n\
              contexts:\n- name: dev\n  context: {cluster: c, user: jane}\n- name: other\n  context: {cluster: c, user: nobody}\ncurrent-context: dev\n\
              users:\n- name: jane\n  user:\n    client-certificate: pki/jane.crt\n    client-key: pki/jane.key\n- name: nobody\n  user:\n    client-certificate: pki/missing.crt\n";
    let kc_path = write(dir.path(), "config", kc);
    let run = |extra: &[&str]| {
        let out =
            pki(dir.path()).arg("--kubeconfig").arg(&kc_path).args(["--source", "kubeconfig", "-o", "json"]).args(extra).output().unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, v, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items[0]["name"], "dev:ca");
    assert_eq!(items[0]["location"]["path"], dir.path().join("pki/ca.crt").display().to_string());
    assert_eq!(items[1]["name"], "dev:client");
    assert_eq!(items[1]["certificate"]["commonName"], "jane");
    assert_eq!(items[1]["certificate"]["organizations"], serde_json::json!(["devs"]));
    assert_eq!(items[1]["chain"]["verdict"], "verified");
    // Another context whose client certificate file is missing: an invalid row.
    let (code, v, _) = run(&["--context", "other"]);
    assert_eq!(code, 4);
    assert_eq!(v["items"][1]["status"], "invalid");
    assert!(v["items"][1]["message"].as_str().unwrap().contains("missing.crt"));
    // An unknown context is an error.
    let (code, _, err) = run(&["--context", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("context \"nope\" not found"), "{err}");
}

#[test]
fn sort_by_name_orders_the_table_by_name_and_expiry_puts_what_ends_first_first() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("root");
    let late = write(dir.path(), "a-late.crt", &leaf("late", PAST, in_days(300), &root).pem);
    let soon = write(dir.path(), "b-soon.crt", &leaf("soon", PAST, in_days(200), &root).pem);
    let first_cells = |args: &[&str]| -> Vec<String> {
        let out = pki(dir.path()).arg("--file").arg(&late).arg("--file").arg(&soon).args(args).assert().code(0);
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        text.lines().skip(1).map(|l| l.split_whitespace().next().unwrap().rsplit('/').next().unwrap().to_owned()).collect()
    };
    assert_eq!(first_cells(&[]), ["b-soon.crt", "a-late.crt"], "by expiry: what ends first, first");
    assert_eq!(first_cells(&["--sort-by", "name"]), ["a-late.crt", "b-soon.crt"]);
}

#[test]
fn several_contexts_are_for_status_alone_and_only_with_the_cluster_sources() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write(dir.path(), "config", "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n");
    let one_line = |cmd: &mut Command, needle: &str| {
        let out = cmd.assert().code(1);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle:?} in {err}");
    };
    let bin = || {
        let mut cmd = Command::cargo_bin("kubectl-pki").unwrap();
        cmd.env("HOME", dir.path()).env("NO_COLOR", "1").arg("--kubeconfig").arg(&kubeconfig);
        cmd
    };
    one_line(
        bin().args(["--context", "a", "--context", "b", "restarts", "-l", "x=y", "--since", "1h"]),
        "--context: given 2 times: only status reads several contexts",
    );
    one_line(bin().args(["status", "--all-contexts", "--context", "a"]), "do not also give --context");
    one_line(bin().args(["status", "--context", "a", "--context", "b", "--tenant", "t"]), "--tenant names a tenant of one cluster");
    one_line(bin().args(["status", "--all-contexts", "--k3s-dir", "d"]), "not per context");
    one_line(bin().args(["status", "--all-contexts", "--context-timeout", "0s"]), "--context-timeout");
    one_line(bin().args(["status", "--all-contexts", "-o", "prometheus"]), "-o prometheus is one cluster's series");
    one_line(bin().args(["status", "--all-contexts"]), "it has no contexts");
}
