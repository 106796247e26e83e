"""Drivers: a case, a GITT record, radiographs or a study in, outputs out. The layer above ``outputs``;
only drivers, the CLI and the case loader read settings files."""
