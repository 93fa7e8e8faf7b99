//! Which sources a `status` run reads, from the sources asked for and the
//! flags given. No clap types: the command layer maps `--source`.

use crate::error::{Error, Result};

use super::row::SourceKind;

/// The flags that name an input of a source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    /// `--tenant`.
    pub tenant: bool,
    /// At least one `--file`.
    pub file: bool,
    /// `--k3s-dir`.
    pub k3s_dir: bool,
    /// `--kubeadm-dir`.
    pub kubeadm_dir: bool,
}

/// The cluster sources read when `--source` is not given.
pub const DEFAULT_CLUSTER: [SourceKind; 5] =
    [SourceKind::Kubeconfig, SourceKind::Server, SourceKind::Secrets, SourceKind::Cabundle, SourceKind::Configmaps];

/// Without sources asked for: the cluster sources (kubeconfig, server,
/// secrets, cabundle, configmaps), plus tenant/file/k3s when their flags are given; but when only
/// `--file` or `--k3s-dir` is given, the cluster is not contacted at all.
/// With `requested` (`--source`): exactly those, and each flag must match its source.
pub fn sources(requested: &[SourceKind], given: Given) -> Result<Vec<SourceKind>> {
    let mut out: Vec<SourceKind> = Vec::new();
    if requested.is_empty() {
        if given.tenant || !(given.file || given.k3s_dir || given.kubeadm_dir) {
            out.extend(DEFAULT_CLUSTER);
        }
        if given.tenant {
            out.push(SourceKind::Tenant);
        }
        if given.file {
            out.push(SourceKind::File);
        }
        if given.k3s_dir {
            out.push(SourceKind::K3s);
        }
        if given.kubeadm_dir {
            out.push(SourceKind::Kubeadm);
        }
        return Ok(out);
    }
    for &kind in requested {
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    let check = |kind: SourceKind, given: bool, flag: &str| -> Result<()> {
        match (out.contains(&kind), given) {
            (true, false) => Err(Error::Usage(format!("--source {} needs {flag}", kind.as_str()))),
            (false, true) => Err(Error::Usage(format!("{flag} is given but --source does not include {}", kind.as_str()))),
            _ => Ok(()),
        }
    };
    check(SourceKind::Tenant, given.tenant, "--tenant")?;
    check(SourceKind::File, given.file, "--file")?;
    check(SourceKind::K3s, given.k3s_dir, "--k3s-dir")?;
    check(SourceKind::Kubeadm, given.kubeadm_dir, "--kubeadm-dir")?;
    // Report in a fixed order whatever order the flags came in.
    let order = [
        SourceKind::Kubeconfig,
        SourceKind::Server,
        SourceKind::Secrets,
        SourceKind::Cabundle,
        SourceKind::Configmaps,
        SourceKind::Tenant,
        SourceKind::File,
        SourceKind::K3s,
        SourceKind::Kubeadm,
    ];
    Ok(order.into_iter().filter(|k| out.contains(k)).collect())
}
