"""The usage dashboard: tokens and cost per day by model and provider."""
