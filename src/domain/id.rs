//! Ids, one type per kind of record, so that an enterprise's id cannot be passed where
//! a user's is meant. Ids are opaque text (time-ordered, see [`crate::db::new_id`]);
//! an unknown one is simply not found.

use crate::db::mapping::id_type;

id_type! {
    /// An enterprise of the roster.
    EnterpriseId;
    /// An enterprise's code (the poster's token is separate and secret).
    CodeId;
    /// A driver's registration.
    RegistrationId;
    /// A staff user.
    UserId;
    /// A sector authority or a park.
    OrgUnitId;
    /// A survey campaign (摸排任务).
    CampaignId;
    /// One enterprise's case in a survey campaign.
    CaseId;
    /// One attempt (phone call, site visit, door-knock) on a survey case.
    VisitId;
    /// A photo taken on a survey case.
    PhotoId;
    /// A demand or problem of the survey's issue ledger (诉求台账).
    DemandId;
    /// An enterprise a surveyor found in the field that was not on the roster.
    DiscoveryId;
    /// A gate (门岗) of an enterprise.
    GateId;
    /// One scan of a pass at a gate.
    GateScanId;
    /// An entry of the blacklist (黑名单).
    BlacklistId;
}
