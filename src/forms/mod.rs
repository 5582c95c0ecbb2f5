//! Registration forms are data (DESIGN.md section 5): the built-in driver fields,
//! the zone's extra fields and each enterprise's extra fields, versioned so that old
//! registrations stay readable after a template changes.

pub mod fields;
pub mod handlers;
pub mod template;

/// Keys of the built-in driver form; extra fields may not reuse them.
pub const BUILTIN_FIELD_KEYS: [&str; 14] = [
    "driver_name",
    "document_type",
    "document_number",
    "phone",
    "plate",
    "trailer_plate",
    "vehicle_type",
    "origin_region",
    "cargo",
    "purpose",
    "expected_arrival",
    "people_in_cab",
    "consent",
    "answers",
];
