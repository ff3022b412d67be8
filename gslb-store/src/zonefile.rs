//! RFC 1035 master-file import and export. (Being written.)
