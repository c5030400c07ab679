//! The deployment files keep their invariants: the Kubernetes manifests (parsed as YAML,
//! every document) run one non-root replica with a read-only root, no capabilities, gRPC
//! health probes on the served port and the data volume at the configured data directory;
//! the systemd unit carries its hardening and restarts on failure; the container image is
//! built locked and runs as a numeric non-root user with a data volume.

use std::{collections::BTreeMap, path::Path};

use serde::Deserialize;
use serde_yaml_ng::Value;

use clearinghouse::config::Config;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every document of the Kubernetes manifests.
fn manifests() -> Vec<Value> {
    let text = read("deploy/k8s/clearinghouse.yaml");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("a YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

fn of_kind(docs: &[Value], kind: &str) -> Vec<Value> {
    docs.iter().filter(|d| d["kind"] == kind).cloned().collect()
}

fn one(docs: &[Value], kind: &str) -> Value {
    let found = of_kind(docs, kind);
    assert_eq!(found.len(), 1, "exactly one {kind}");
    found.into_iter().next().expect("one")
}

fn container(sts: &Value) -> Value {
    let containers = sts["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    containers[0].clone()
}

fn config_of(docs: &[Value]) -> Config {
    let text = one(docs, "ConfigMap")["data"]["config.toml"]
        .as_str()
        .expect("config.toml in the ConfigMap")
        .to_owned();
    let config = Config::from_toml(&text).expect("the ConfigMap's config.toml parses");
    config.validate().expect("and is valid");
    config
}

fn mount_path(c: &Value, volume: &str) -> String {
    c["volumeMounts"]
        .as_sequence()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["name"] == volume)
        .and_then(|m| m["mountPath"].as_str())
        .unwrap_or_else(|| panic!("volume {volume} is mounted"))
        .to_owned()
}

/// A Kubernetes memory quantity in MiB (Mi, Gi).
fn mebibytes(q: &str) -> u64 {
    if let Some(n) = q.strip_suffix("Gi") {
        n.parse::<u64>().expect("number") * 1024
    } else if let Some(n) = q.strip_suffix("Mi") {
        n.parse().expect("number")
    } else {
        panic!("memory quantity {q} is not in Mi or Gi")
    }
}

#[test]
fn k8s_runs_one_non_root_replica_with_a_read_only_root_and_no_capabilities() {
    let docs = manifests();
    let sts = one(&docs, "StatefulSet");
    assert_eq!(sts["spec"]["replicas"].as_u64(), Some(1), "one writer");
    let pod = &sts["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert!(
        pod["securityContext"]["runAsUser"]
            .as_u64()
            .expect("runAsUser")
            > 0
    );
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    let c = container(&sts);
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    let dropped: Vec<&str> = sc["capabilities"]["drop"]
        .as_sequence()
        .expect("capabilities.drop")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(dropped, ["ALL"]);
    assert!(
        sc["capabilities"]["add"].is_null(),
        "no capability is added back"
    );
}

#[test]
fn k8s_probes_use_grpc_health_checking_on_the_port_the_server_listens_on() {
    let docs = manifests();
    let config = config_of(&docs);
    let c = container(&one(&docs, "StatefulSet"));
    let port = c["ports"][0]["containerPort"]
        .as_u64()
        .expect("containerPort");
    assert_eq!(port, u64::from(config.listen.port()));
    assert!(
        config.listen.ip().is_unspecified(),
        "listens on every interface in the pod"
    );
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        let grpc = &c[probe]["grpc"];
        assert_eq!(
            grpc["port"].as_u64(),
            Some(port),
            "{probe} is a gRPC probe on {port}"
        );
        let service = grpc["service"].as_str().unwrap_or("");
        assert!(
            service.is_empty() || clearinghouse::server::SERVICE_NAMES.contains(&service),
            "{probe} checks a service the server reports health for: '{service}'"
        );
    }
    for svc in of_kind(&docs, "Service") {
        let p = &svc["spec"]["ports"][0];
        assert_eq!(p["port"].as_u64(), Some(port));
        assert_eq!(
            p["targetPort"], c["ports"][0]["name"],
            "Services target the named port"
        );
        assert_eq!(
            svc["spec"]["selector"],
            one(&docs, "StatefulSet")["spec"]["template"]["metadata"]["labels"]
        );
    }
}

#[test]
fn k8s_mounts_the_persistent_volume_at_the_configured_data_dir() {
    let docs = manifests();
    let config = config_of(&docs);
    let sts = one(&docs, "StatefulSet");
    let c = container(&sts);
    let claims = sts["spec"]["volumeClaimTemplates"]
        .as_sequence()
        .expect("a volume claim template");
    assert_eq!(claims.len(), 1);
    let claim = &claims[0];
    let name = claim["metadata"]["name"].as_str().expect("claim name");
    assert_eq!(
        Path::new(&mount_path(&c, name)),
        config.data_dir,
        "the claimed volume is the data directory"
    );
    assert!(claim["spec"]["resources"]["requests"]["storage"].is_string());
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let at = args
        .iter()
        .position(|a| *a == "--config")
        .expect("--config");
    assert_eq!(
        args.get(at + 1).copied(),
        Some(mount_path(&c, "config").as_str()),
        "the server reads the mounted ConfigMap"
    );
    assert!(
        !args.contains(&"--data-dir"),
        "the data directory comes from the ConfigMap alone"
    );
}

#[test]
fn k8s_memory_limit_leaves_room_for_twice_the_cache_and_secrets_are_read_only_files() {
    let docs = manifests();
    let config = config_of(&docs);
    let sts = one(&docs, "StatefulSet");
    let c = container(&sts);
    let limit = mebibytes(
        c["resources"]["limits"]["memory"]
            .as_str()
            .expect("memory limit"),
    );
    let request = mebibytes(
        c["resources"]["requests"]["memory"]
            .as_str()
            .expect("memory request"),
    );
    assert!(request <= limit);
    assert!(
        limit >= 2 * config.cache_capacity_mib + 64,
        "P6: RSS may reach 2 x cache + 64 MiB; the limit is {limit} MiB"
    );
    assert!(c["resources"]["limits"]["cpu"].is_string());
    let secret = one(&docs, "Secret");
    let name = secret["metadata"]["name"].as_str().expect("secret name");
    let volumes = sts["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .expect("volumes");
    let vol = volumes
        .iter()
        .find(|v| v["secret"]["secretName"] == name)
        .expect("the Secret is a volume");
    let vol_name = vol["name"].as_str().expect("volume name");
    let mount = c["volumeMounts"]
        .as_sequence()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == vol_name)
        .expect("the Secret volume is mounted")
        .clone();
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
}

/// `[Section] Key=Value` entries of a systemd unit, in order (a key may repeat).
fn unit_entries(text: &str) -> BTreeMap<(String, String), Vec<String>> {
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
            continue;
        }
        let (k, v) = line.split_once('=').expect("Key=Value");
        out.entry((section.clone(), k.trim().to_owned()))
            .or_default()
            .push(v.trim().to_owned());
    }
    out
}

#[test]
fn systemd_unit_is_sandboxed_and_restarts_after_a_fatal_exit() {
    let unit = unit_entries(&read("deploy/clearinghouse.service"));
    let get = |k: &str| {
        unit.get(&("Service".to_owned(), k.to_owned()))
            .cloned()
            .unwrap_or_else(|| panic!("[Service] {k} is set"))
    };
    for (key, value) in [
        ("Restart", "on-failure"),
        ("NoNewPrivileges", "true"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "true"),
        ("PrivateTmp", "true"),
        ("PrivateDevices", "true"),
        ("MemoryDenyWriteExecute", "true"),
        ("LockPersonality", "true"),
        ("RestrictSUIDSGID", "true"),
        ("RestrictNamespaces", "true"),
        ("ProtectKernelTunables", "true"),
        ("ProtectKernelModules", "true"),
        ("ProtectControlGroups", "true"),
        ("SystemCallArchitectures", "native"),
        ("KillSignal", "SIGTERM"),
    ] {
        assert_eq!(get(key), [value], "[Service] {key}");
    }
    assert_eq!(get("CapabilityBoundingSet"), [""], "an empty bounding set");
    assert_eq!(get("AmbientCapabilities"), [""]);
    assert!(get("SystemCallFilter").contains(&"@system-service".to_owned()));
    let families = get("RestrictAddressFamilies").join(" ");
    let mut families: Vec<&str> = families.split_whitespace().collect();
    families.sort_unstable();
    assert_eq!(families, ["AF_INET", "AF_INET6", "AF_UNIX"]);
    assert!(
        unit.contains_key(&("Unit".to_owned(), "StartLimitBurst".to_owned())),
        "a failing disk does not restart it for ever"
    );
}

#[test]
fn systemd_unit_runs_as_a_dedicated_user_on_its_state_directory() {
    let unit = unit_entries(&read("deploy/clearinghouse.service"));
    let get = |k: &str| {
        unit.get(&("Service".to_owned(), k.to_owned()))
            .and_then(|v| v.last().cloned())
            .unwrap_or_else(|| panic!("[Service] {k} is set"))
    };
    let user = get("User");
    assert!(!user.is_empty() && user != "root" && user != "0");
    let state = get("StateDirectory");
    let exec = get("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().collect();
    let at = args
        .iter()
        .position(|a| *a == "--data-dir")
        .expect("--data-dir");
    assert_eq!(
        args.get(at + 1).copied(),
        Some(format!("/var/lib/{state}").as_str()),
        "the data directory is the state directory systemd creates"
    );
    assert_eq!(args.get(1).copied(), Some("serve"));
    assert!(
        !unit.contains_key(&("Service".to_owned(), "ReadWritePaths".to_owned())),
        "nothing but the state directory is writable"
    );
}

#[test]
fn container_image_builds_locked_and_runs_as_a_numeric_non_root_user_with_a_data_volume() {
    let text = read("deploy/Containerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let froms = lines.iter().filter(|l| l.starts_with("FROM ")).count();
    assert!(froms >= 2, "a build stage and a runtime stage");
    assert!(
        lines.iter().any(|l| l.contains("cargo build")
            && l.contains("--release")
            && l.contains("--locked")),
        "the build honours Cargo.lock"
    );
    let user = lines
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER in the runtime stage");
    let uid: u32 = user
        .split(':')
        .next()
        .and_then(|u| u.parse().ok())
        .expect("a numeric uid (so runAsNonRoot can verify it)");
    assert_ne!(uid, 0);
    let sts = one(&manifests(), "StatefulSet");
    assert_eq!(
        sts["spec"]["template"]["spec"]["securityContext"]["runAsUser"].as_u64(),
        Some(u64::from(uid)),
        "the manifests run as the image's user"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("VOLUME") && l.contains("/var/lib/clearinghouse")),
        "the data directory is a volume"
    );
    let entry = lines
        .iter()
        .find(|l| l.starts_with("ENTRYPOINT"))
        .expect("ENTRYPOINT");
    assert!(entry.contains("\"--data-dir\", \"/var/lib/clearinghouse\""));
}

/// Every document of the replicas' manifests (Deployment over PostgreSQL).
fn replica_manifests() -> Vec<Value> {
    let text = read("deploy/k8s/replicas/clearinghouse-replicas.yaml");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("a YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

#[test]
fn k8s_replicas_run_several_hardened_pods_with_the_database_url_from_a_secret() {
    let docs = replica_manifests();
    let kustomization = read("deploy/k8s/replicas/kustomization.yaml");
    assert!(kustomization.contains("clearinghouse-replicas.yaml"));
    let deployment = one(&docs, "Deployment");
    assert!(
        deployment["spec"]["replicas"].as_u64().expect("replicas") >= 2,
        "several replicas"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    assert_eq!(pod["automountServiceAccountToken"].as_bool(), Some(false));
    let c = container(&deployment);
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(sc["capabilities"]["drop"][0].as_str(), Some("ALL"));
    assert!(sc["capabilities"]["add"].is_null());

    // The URL (with its password) comes from a Secret, never from the ConfigMap.
    let env = c["env"].as_sequence().expect("env");
    let url = env
        .iter()
        .find(|e| e["name"] == "CLEARINGHOUSE_DATABASE_URL")
        .expect("CLEARINGHOUSE_DATABASE_URL is set");
    assert!(url["value"].is_null(), "not a literal");
    assert!(url["valueFrom"]["secretKeyRef"]["name"].is_string());
    let text = one(&docs, "ConfigMap")["data"]["config.toml"]
        .as_str()
        .expect("config.toml")
        .to_owned();
    let mut config = Config::from_toml(&text).expect("the ConfigMap's config.toml parses");
    assert_eq!(config.storage.database_url, None);
    config
        .apply_env(|k| {
            (k == "CLEARINGHOUSE_DATABASE_URL").then(|| "postgres://ch:pw@db/clearinghouse".into())
        })
        .expect("env");
    config.validate().expect("valid with the Secret's URL");
    assert!(config.storage.is_postgres());

    // Ready on gRPC health, on the served port; alive on the port alone (a replica is
    // NOT_SERVING while the database is away, and restarting it would not help).
    let port = c["ports"][0]["containerPort"].as_u64().expect("port");
    assert_eq!(port, u64::from(config.listen.port()));
    let ready = &c["readinessProbe"]["grpc"];
    assert_eq!(ready["port"].as_u64(), Some(port));
    let service = ready["service"].as_str().unwrap_or("");
    assert!(service.is_empty() || clearinghouse::server::SERVICE_NAMES.contains(&service));
    assert!(
        c["livenessProbe"]["grpc"].is_null(),
        "liveness is not health"
    );
    assert_eq!(
        c["livenessProbe"]["tcpSocket"]["port"],
        c["ports"][0]["name"]
    );
    assert_eq!(
        Path::new(&mount_path(&c, "data")),
        config.data_dir,
        "the data directory (bootstrap key only) is mounted writable"
    );
    let svc = one(&docs, "Service");
    assert_eq!(
        svc["spec"]["selector"],
        deployment["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], c["ports"][0]["name"]);
}
