//! `status --all-tenants`: every TenantControlPlane in the namespace (or all
//! of them with `-A`), one table row per tenant, what needs attention first;
//! JSON carries every certificate row and each tenant's summary. Tenants are
//! seeded and issued by the Kamaji stand-in; a tenant without secrets is a
//! row with its error, never the end of the listing.

use std::time::Duration;

use e2e::ControlPlane;
use e2e::cozystack::{SeedOptions, StandinTenant, seed_tenant, standin_tenant};
use e2e::kamaji;
use e2e::kamaji::names::KONNECTIVITY_KUBECONFIG;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(120);

fn status(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(e2e::pki_bin())
        .arg("--kubeconfig")
        .arg(ControlPlane::shared().kubeconfig())
        .arg("status")
        .args(args)
        .output()
        .expect("run kubectl-pki");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tenant_is_a_row_and_a_broken_one_does_not_end_the_listing() {
    // Two tenants issued by one stand-in, in one namespace (nothing listens where their kubeconfigs point).
    let closed = e2e::process::free_port().expect("free port");
    let seed = SeedOptions { endpoint: Some(format!("https://127.0.0.1:{closed}")), other_tenant: false, ..SeedOptions::default() };
    let StandinTenant { client, tenant: one, standin } =
        standin_tenant("all-tenants", "kubernetes-one", seed.clone(), WAIT).await.expect("tenant one");
    let seed_two = SeedOptions { kamaji_namespace: one.kamaji_namespace.clone(), ..seed };
    let two = seed_tenant(&client, &one.namespace, "kubernetes-two", &seed_two).await.expect("tenant two");
    kamaji::wait_ready(&client, &two.namespace, &two.name, WAIT).await.expect("tenant two Ready");
    // A third, in another namespace, that no controller serves: no secrets at all.
    let other = ControlPlane::shared().namespace("all-tenants-broken").await;
    let tcps: Api<DynamicObject> = Api::namespaced_with(client.clone(), &other.name, &kamaji::api_resource());
    let broken: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kamaji.clastix.io/v1alpha1", "kind": "TenantControlPlane",
        "metadata": {"name": "kubernetes-broken", "namespace": other.name},
        "spec": {"kubernetes": {"version": "v1.33.3"}},
    }))
    .unwrap();
    tcps.create(&PostParams::default(), &broken).await.expect("broken TCP");
    let kamaji_ns = one.kamaji_namespace.clone();

    // One namespace, JSON: both tenants, every row of each, their summaries.
    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| status(&["--all-tenants", "-n", &one.namespace, "--kamaji-namespace", &kamaji_ns, "-o", "json"]));
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let tenants = doc["tenants"].as_array().expect("tenants");
    let names: Vec<&str> = tenants.iter().map(|t| t["name"].as_str().unwrap_or_default()).collect();
    assert_eq!(names, ["kubernetes-one", "kubernetes-two"], "{stdout}");
    for t in tenants {
        let s = &t["summary"];
        assert!(s["caNotAfter"].is_string() && s["earliestLeaf"]["notAfter"].is_string(), "{t:#}");
        assert_eq!(s["served"], "unreachable", "{t:#}");
        assert_eq!(s["rotating"], false, "{t:#}");
        assert_eq!(t["kamaji"]["status"], "ok", "{t:#}");
        let rows = doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["source"] == "tenant" && i["name"].as_str().unwrap().contains(&format!("/{}-", t["name"].as_str().unwrap())))
            .count();
        assert!(rows >= 10, "every certificate row of {}: {rows}", t["name"]);
    }
    assert_eq!(code, 0, "every tenant is fine; unreachable APIs do not fail the run\n{stderr}");

    // All namespaces, table: one row per tenant, the broken one first with its error.
    let (code, table, stderr) = tokio::task::block_in_place(|| status(&["--all-tenants", "-A", "--kamaji-namespace", &kamaji_ns]));
    assert_eq!(code, 0, "{table}\n{stderr}");
    eprintln!("{table}");
    let header = table.lines().find(|l| l.starts_with("TENANT")).unwrap_or_else(|| panic!("{table}"));
    for column in ["TCP STATUS", "VERSION", "CA NOT AFTER", "EARLIEST LEAF", "SERVED", "ROTATING", "STATUS"] {
        assert!(header.contains(column), "{header}");
    }
    let line_of = |name: &str| table.lines().position(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no row {name}:\n{table}"));
    let broken_row = line_of(&format!("{}/kubernetes-broken", other.name));
    assert!(broken_row < line_of(&format!("{}/kubernetes-one", one.namespace)), "what needs attention first:\n{table}");
    let row = table.lines().nth(broken_row).unwrap();
    assert!(row.contains("error") && row.contains("no secrets labelled kamaji.clastix.io/name=kubernetes-broken"), "{row}");
    let one_row = table.lines().nth(line_of(&format!("{}/kubernetes-one", one.namespace))).unwrap();
    assert!(one_row.contains("Ready") && one_row.contains("unreachable") && one_row.contains(" no "), "{one_row}");
    assert!(
        table.lines().next().unwrap().starts_with("Kamaji controller (") && table.matches("Kamaji controller (").count() == 1,
        "the horizon line once, on top:\n{table}"
    );

    // Every context: the management cluster's tenants under its context, and a dead management cluster as a row.
    let dir = tempfile::tempdir().unwrap();
    let fleet = e2e::fleet::fleet_kubeconfig(dir.path(), &[("mgmt", &one.namespace)], &[("mgmt-dr", "https://127.0.0.1:1".to_string())]);
    let fleet_status = |args: &[&str]| {
        let out = std::process::Command::new(e2e::pki_bin())
            .arg("--kubeconfig")
            .arg(&fleet)
            .args(["status", "--all-contexts", "--all-tenants", "--kamaji-namespace", &kamaji_ns])
            .args(args)
            .output()
            .expect("run kubectl-pki");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, table, stderr) = tokio::task::block_in_place(|| fleet_status(&[]));
    assert_eq!(code, 1, "a management cluster that could not be read: {table}\n{stderr}");
    assert!(stderr.contains("1 of 2 context(s) could not be read: mgmt-dr"), "{stderr}");
    assert!(table.lines().any(|l| l.starts_with("CONTEXT ") && l.contains("TENANT")), "{table}");
    assert!(table.lines().any(|l| l.starts_with("mgmt-dr ") && l.contains("error") && l.contains("127.0.0.1:1")), "{table}");
    for tenant in ["kubernetes-one", "kubernetes-two"] {
        assert!(table.lines().any(|l| l.starts_with("mgmt ") && l.contains(&format!("{}/{tenant}", one.namespace))), "{table}");
    }
    assert!(table.lines().next().unwrap().starts_with("mgmt: Kamaji controller ("), "the horizon line names its context:\n{table}");
    let (_, stdout, _) = tokio::task::block_in_place(|| fleet_status(&["-o", "json"]));
    let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let contexts: Vec<&str> = doc["tenants"].as_array().unwrap().iter().map(|t| t["context"].as_str().unwrap()).collect();
    assert_eq!(contexts, ["mgmt", "mgmt"], "{stdout}");
    assert!(doc["items"].as_array().unwrap().iter().all(|i| i["context"].is_string()), "every row names its context");

    // Wide: the counts per status.
    let (_, wide, _) =
        tokio::task::block_in_place(|| status(&["--all-tenants", "-n", &one.namespace, "--kamaji-namespace", &kamaji_ns, "-o", "wide"]));
    assert!(wide.contains("PENDING-RESTART") && wide.contains("MISMATCH"), "{wide}");

    // CA drift: a konnectivity kubeconfig left on another CA (kamaji#1151), and a
    // KubeconfigGenerator's secret for tenant one doing the same. The stand-in is stopped
    // first: it plays a Kamaji that repairs the konnectivity kubeconfig.
    drop(standin);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &one.namespace);
    let foreign = kubectl_pki_testkit::ca("kubernetes");
    let stale = kubectl_pki_testkit::kubeconfig_yaml(
        &foreign.pem,
        &kubectl_pki_testkit::leaf_signed_by("system:konnectivity-server", &foreign).pem,
    );
    let konnectivity = two.secret(KONNECTIVITY_KUBECONFIG);
    let patch = json!({"data": {"konnectivity-server.conf": kubectl_pki_testkit::b64(&stale)}});
    secrets.patch(&konnectivity, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("stale konnectivity kubeconfig");
    let mut generated = Secret { data: Some([("value".to_string(), ByteString(stale.clone().into_bytes()))].into()), ..Secret::default() };
    generated.metadata.name = Some(format!("{}-devs", one.name));
    generated.metadata.labels = Some([("kamaji.clastix.io/managed-for".to_string(), one.name.clone())].into());
    secrets.create(&PostParams::default(), &generated).await.expect("KubeconfigGenerator secret");
    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| status(&["--all-tenants", "-n", &one.namespace, "--kamaji-namespace", &kamaji_ns, "-o", "json"]));
    assert_eq!(code, 4, "a stale CA copy locks its users out: critical\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let mismatched: Vec<&Value> = doc["items"].as_array().unwrap().iter().filter(|i| i["status"] == "mismatch").collect();
    let mut names: Vec<&str> = mismatched.iter().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    let mut expected =
        [format!("{}/{konnectivity}/konnectivity-server.conf:ca", one.namespace), format!("{}/{}-devs/value:ca", one.namespace, one.name)];
    expected.sort_unstable();
    assert_eq!(names, expected, "exactly the two stale copies");
    for row in &mismatched {
        assert!(row["message"].as_str().unwrap().starts_with("stale CA: "), "{row:#}");
    }
    let statuses: Vec<(&str, &str)> = doc["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["summary"]["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [("kubernetes-one", "mismatch"), ("kubernetes-two", "mismatch")], "{statuses:?}");

    // The Cozystack short name resolves for --tenant as for rotate-ca.
    let (code, out, stderr) = tokio::task::block_in_place(|| {
        status(&["--tenant", "one", "-n", &one.namespace, "--source", "tenant", "--kamaji-namespace", &kamaji_ns])
    });
    eprintln!("{out}");
    assert!(out.contains("TenantControlPlane") && out.contains("kubernetes-one"), "{out}\n{stderr}");
    assert!(out.contains(&format!("{}-devs/value:ca", one.name)) && out.contains("stale CA"), "--tenant audits the same copies:\n{out}");
    assert_eq!(code, 4, "{out}\n{stderr}");
    let (code, _, stderr) = tokio::task::block_in_place(|| status(&["--all-tenants", "--tenant", "one"]));
    assert_eq!(code, 2, "conflicting flags: {stderr}");
}
