"""Question answering: hybrid retrieval -> evidence sentences -> refusal in code -> a cited answer."""
