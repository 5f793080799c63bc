"""Builders: SRPMs from package trees, binary RPMs with rpmbuild or mock, artifact store."""
