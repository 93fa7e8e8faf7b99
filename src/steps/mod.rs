//! What the commands that change a tenant (rotate-ca, renew, rotate-sa-key) share about
//! running: numbered steps ([`RunStep`]) recorded in the tenant's Lease, each shown on one
//! line ([`Display`]) and entered in the report ([`RunReport`]) with a typed [`Outcome`];
//! a first step that takes the Lease only once every permission is granted and the plan has
//! no blocker ([`lock::take`]); and an end that releases the Lease and, after a failure,
//! says how to continue ([`conclude`]); and the end of every dry-run plan ([`plan_text`]).
//! No clap types; no printing except through [`Display`].

pub mod fault;
pub mod lock;
mod outcome;
pub mod plan_text;
pub mod progress;
mod report;
mod run;
mod step;

pub use outcome::{Outcome, Skip};
pub use progress::{Display, PhaseLine};
pub(crate) use report::run_report_fields;
pub use report::{PhaseReport, PhaseStatus, RunReport, tenths};
pub use run::{conclude, finish, interruptible};
pub use step::RunStep;
pub(crate) use step::display_by_name;
