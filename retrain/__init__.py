"""The retrain worker and the review flow: from a retrain request to a registered challenger."""
