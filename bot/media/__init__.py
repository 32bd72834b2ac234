"""The media archive: content-addressed files of watched channels, downloaded in the background."""
