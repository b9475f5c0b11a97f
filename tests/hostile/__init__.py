"""Hostile and broken submissions, and the course they are graded in."""
