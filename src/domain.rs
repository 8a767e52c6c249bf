//! The domain's named values, each a type with one spelling (`as_str`, the
//! value the marts publish) and, beside it, the expression that tests a
//! column for it. Every layer may use these; they use nothing but polars.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

/// What a deal stage means (SPEC §3 `stages.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    Open,
    Won,
    Lost,
}

impl StageKind {
    pub const ALL: [StageKind; 3] = [StageKind::Open, StageKind::Won, StageKind::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Open => "open",
            StageKind::Won => "won",
            StageKind::Lost => "lost",
        }
    }

    /// How a `kind` column holds this kind (`intermediate::stage_kinds`):
    /// a number, compared on every history row where a text was.
    pub fn code(self) -> i32 {
        match self {
            StageKind::Open => 0,
            StageKind::Won => 1,
            StageKind::Lost => 2,
        }
    }

    /// `kind` (a column of stage kinds, `code`) holds this kind.
    pub fn matches(self, kind: Expr) -> Expr {
        kind.eq(lit(self.code()))
    }
}

/// A rep's place in the quarter (SPEC §4.2): top of the peer group or not,
/// by the sign of the change from the previous quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quadrant {
    RisingStar,
    FallingStar,
    ImprovingLaggard,
    DecliningLaggard,
}

impl Quadrant {
    pub const ALL: [Quadrant; 4] = [
        Quadrant::RisingStar,
        Quadrant::FallingStar,
        Quadrant::ImprovingLaggard,
        Quadrant::DecliningLaggard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::RisingStar => "rising_star",
            Quadrant::FallingStar => "falling_star",
            Quadrant::ImprovingLaggard => "improving_laggard",
            Quadrant::DecliningLaggard => "declining_laggard",
        }
    }

    /// The team_quarter_kpis column that counts the reps in it (SPEC §4.3).
    pub fn count_column(self) -> &'static str {
        match self {
            Quadrant::RisingStar => "rising_stars",
            Quadrant::FallingStar => "falling_stars",
            Quadrant::ImprovingLaggard => "improving_laggards",
            Quadrant::DecliningLaggard => "declining_laggards",
        }
    }

    pub fn lit(self) -> Expr {
        lit(self.as_str())
    }

    pub fn matches(self, quadrant: Expr) -> Expr {
        quadrant.eq(self.lit())
    }
}

/// What a row of a scoped mart rolls up (SPEC §4.3, §4.4): one rep, a team,
/// or the company (scope_id `all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Rep,
    Team,
    Company,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Rep => "rep",
            Scope::Team => "team",
            Scope::Company => "company",
        }
    }

    /// The scope_id of the company's rows.
    pub const COMPANY_ID: &'static str = "all";

    /// The column whose value is a row's scope_id: none for the company,
    /// whose rows all have `COMPANY_ID`.
    pub fn id_column(self) -> Option<&'static str> {
        match self {
            Scope::Rep => Some("rep_id"),
            Scope::Team => Some("team"),
            Scope::Company => None,
        }
    }

    pub fn matches(self, scope: Expr) -> Expr {
        scope.eq(lit(self.as_str()))
    }
}

/// A forecast method of SPEC §4.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForecastMethod {
    StageWeighted,
    CycleAge,
    RepCommit,
    HistoricalGrowth,
}

impl ForecastMethod {
    pub const ALL: [ForecastMethod; 4] = [
        ForecastMethod::StageWeighted,
        ForecastMethod::CycleAge,
        ForecastMethod::RepCommit,
        ForecastMethod::HistoricalGrowth,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ForecastMethod::StageWeighted => "stage_weighted",
            ForecastMethod::CycleAge => "cycle_age",
            ForecastMethod::RepCommit => "rep_commit",
            ForecastMethod::HistoricalGrowth => "historical_growth",
        }
    }
}
