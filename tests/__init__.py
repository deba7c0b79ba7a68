"""Test suite for mailbot (a package so helpers import as ``tests.support...``)."""
