//! Test harness for kubectl-pki.
