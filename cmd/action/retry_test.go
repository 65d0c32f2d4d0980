package main

import "github.com/org/ecr-action/internal/awsauth"

// maxAttempts is the retry budget of the action's AWS clients, which the
// throttling tests count calls against.
const maxAttempts = awsauth.MaxAttempts
