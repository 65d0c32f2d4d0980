// Package policy holds the rules ECR applies to the documents and names the
// action sends it, and builds the documents the action owns. It imports no SDK.
package policy
