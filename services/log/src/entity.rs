//! The log's tables (migration m0008).

/// `log_tree`: the one row (`id` = `tree`) holding the tree's size (the watermark: events with
/// `global_seq` ≤ size are in the tree) and root. Replicas serialise on it.
pub mod tree {
    use sea_orm::entity::prelude::*;

    /// A row of `log_tree`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_tree")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub size: i64,
        pub root: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `log_hashes`: every complete subtree hash, by stored-hash index.
pub mod stored_hash {
    use sea_orm::entity::prelude::*;

    /// A row of `log_hashes`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_hashes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub idx: i64,
        pub hash: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `log_checkpoints`: every signed checkpoint.
pub mod checkpoint {
    use sea_orm::entity::prelude::*;

    /// A row of `log_checkpoints`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_checkpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub size: i64,
        pub root: String,
        /// The signed note, as served.
        pub note: String,
        /// Microseconds since the Unix epoch.
        pub signed_at: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `log_cosignatures`: a witness's cosignature of a checkpoint (its signature line).
pub mod cosignature {
    use sea_orm::entity::prelude::*;

    /// A row of `log_cosignatures`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "log_cosignatures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub size: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub witness: String,
        /// The signature line, `— <name> <base64>` with its newline.
        pub signature: String,
        pub received_at: i64,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
