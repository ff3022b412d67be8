//! Listeners: UDP, TCP and PROXY v2. (To be written.)
