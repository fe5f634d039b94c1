"""Producers: synthetic scenarios with known drift, dataset replay, and the first champion."""
