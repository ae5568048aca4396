//! The invhost inventory repository.
//!
//! Not built yet: the SeaORM schema, migrations, bulk sync writer and view
//! queries arrive with the repository work (see the project's issue on the
//! inventory repository). Nothing here pretends to store anything.
