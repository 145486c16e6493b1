"""autograder: grading checks and the TA workflow for vaekit."""
