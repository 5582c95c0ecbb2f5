//! What a driver comes to an enterprise for.

use crate::db::mapping::text_enum;

text_enum! {
    /// The purpose of a visit.
    pub enum Purpose {
        /// 送货.
        Deliver = "deliver" / "送货",
        /// 提货.
        PickUp = "pick_up" / "提货",
        /// 其他.
        Other = "other" / "其他",
    }
}
