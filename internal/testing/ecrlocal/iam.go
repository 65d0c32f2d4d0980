package ecrlocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/org/ecr-action/internal/testing/awsjson"
)

// IAM is an http.Handler that authorizes every AWS call before handing it to
// the handler it wraps, the way IAM evaluates an identity-based policy: an
// ECR JSON API call (X-Amz-Target AmazonEC2ContainerRegistry_V20150921.<Op>)
// needs "ecr:<Op>", a CloudWatch Logs call (Logs_20140328.<Op>) needs
// "logs:<Op>", and a registry API (/v2/) request needs the ECR action that
// Amazon ECR checks for it (see registryChecks). A call the policy does not
// allow gets the answer AWS gives: an AccessDeniedException for the JSON
// APIs, a 403 DENIED error for the registry, each naming the IAM action and
// the resource. It records what it allowed and denied, for tests.
//
// It wraps ecrlocal's Server, logslocal's Route, or both
// (NewIAM(logs.Route(ecr), ...)). Paths other than the APIs (/_ecrlocal/)
// pass through unchecked.
//
// Differences from IAM, on purpose: only identity-based policies (no
// resource policies, permission boundaries or SCPs), no Condition,
// NotAction, NotResource or policy variables (ParsePolicy refuses them),
// and registry requests without credentials pass through, to be answered
// 401 by the wrapped handler as ECR does before any IAM check.
type IAM struct {
	next      http.Handler
	account   string
	region    string
	principal string

	mu        sync.Mutex
	policy    Policy
	decisions []Decision
}

// IAMOptions configure an IAM. Empty fields take the defaults.
type IAMOptions struct {
	Account string // default DefaultAccount: the account in resource ARNs
	Region  string // default DefaultRegion: the region in resource ARNs
	// Principal is the caller's ARN in denial messages; default
	// arn:aws:sts::<Account>:assumed-role/ecr-action/ecr-action.
	Principal string
}

// Policy is an identity-based IAM policy: its statements.
type Policy struct {
	Statements []Statement
}

// Statement is one statement of a Policy. Actions match case-insensitively
// and Resources case-sensitively, both with IAM's * and ? wildcards.
type Statement struct {
	Sid       string
	Deny      bool // Effect Deny; an explicit deny wins over any allow
	Actions   []string
	Resources []string
}

// AllowActions is a policy allowing actions (e.g. "ecr:PutImage",
// "ecr:Describe*", "logs:*") on every resource.
func AllowActions(actions ...string) Policy {
	return Policy{Statements: []Statement{{Actions: slices.Clone(actions), Resources: []string{"*"}}}}
}

// Actions returns the action patterns the policy allows, in statement order.
func (p Policy) Actions() []string {
	var out []string
	for _, s := range p.Statements {
		if !s.Deny {
			out = append(out, s.Actions...)
		}
	}
	return out
}

// Without returns a copy of p in which no Allow statement names action
// (compared case-insensitively, as written; a wildcard that matches it
// stays). A statement left with no action is dropped.
func (p Policy) Without(action string) Policy {
	var out Policy
	for _, s := range p.Statements {
		s.Actions = slices.DeleteFunc(slices.Clone(s.Actions), func(a string) bool { return !s.Deny && strings.EqualFold(a, action) })
		if len(s.Actions) > 0 {
			out.Statements = append(out.Statements, s)
		}
	}
	return out
}

// ParsePolicy reads an identity-based policy document: Statement as one
// object or a list, Action and Resource as a string or a list, Effect Allow
// or Deny. Elements this evaluator does not implement (Principal,
// NotPrincipal, NotAction, NotResource, Condition) are refused rather than
// ignored, so a policy is never judged more permissive than it is.
func ParsePolicy(doc []byte) (Policy, error) {
	var raw struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return Policy{}, fmt.Errorf("policy is not a JSON object: %w", err)
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw.Statement, &list); err != nil {
		var one map[string]json.RawMessage
		if err1 := json.Unmarshal(raw.Statement, &one); err1 != nil || one == nil {
			return Policy{}, errors.New("policy Statement must be an object or a list of objects")
		}
		list = []map[string]json.RawMessage{one}
	}
	if len(list) == 0 {
		return Policy{}, errors.New("policy has no statement")
	}
	var p Policy
	for i, m := range list {
		var st Statement
		for k, v := range m {
			var err error
			switch k {
			case "Sid":
				err = json.Unmarshal(v, &st.Sid)
			case "Effect":
				var effect string
				if err = json.Unmarshal(v, &effect); err == nil {
					switch effect {
					case "Allow":
					case "Deny":
						st.Deny = true
					default:
						err = fmt.Errorf("the Effect %q is neither Allow nor Deny", effect)
					}
				}
			case "Action":
				st.Actions, err = stringOrList(v)
			case "Resource":
				st.Resources, err = stringOrList(v)
			default:
				err = fmt.Errorf("element %s is not supported by this evaluator", k)
			}
			if err != nil {
				return Policy{}, fmt.Errorf("statement %d: %s: %w", i, k, err)
			}
		}
		if _, ok := m["Effect"]; !ok {
			return Policy{}, fmt.Errorf("statement %d has no Effect", i)
		}
		if len(st.Actions) == 0 || len(st.Resources) == 0 {
			return Policy{}, fmt.Errorf("statement %d needs Action and Resource", i)
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

func stringOrList(v json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(v, &l); err != nil || len(l) == 0 {
		return nil, errors.New("must be a string or a non-empty list of strings")
	}
	return l, nil
}

// Decision is one authorization the IAM made.
type Decision struct {
	Action   string // "ecr:PutImage"
	Resource string // the resource ARN, or "*" for actions without one
	Allowed  bool
}

// NewIAM wraps next with policy p.
func NewIAM(next http.Handler, p Policy, opts IAMOptions) *IAM {
	if opts.Account == "" {
		opts.Account = DefaultAccount
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.Principal == "" {
		opts.Principal = "arn:aws:sts::" + opts.Account + ":assumed-role/ecr-action/ecr-action"
	}
	return &IAM{next: next, account: opts.Account, region: opts.Region, principal: opts.Principal, policy: p}
}

// SetPolicy replaces the policy for the calls that follow.
func (a *IAM) SetPolicy(p Policy) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.policy = p
}

// Decisions returns the authorizations made since the last Reset, in order.
func (a *IAM) Decisions() []Decision {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.decisions)
}

// Used returns the actions allowed at least once since the last Reset,
// sorted.
func (a *IAM) Used() []string { return a.actions(true) }

// Denied returns the actions denied at least once since the last Reset,
// sorted.
func (a *IAM) Denied() []string { return a.actions(false) }

func (a *IAM) actions(allowed bool) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, d := range a.decisions {
		if d.Allowed == allowed && !slices.Contains(out, d.Action) {
			out = append(out, d.Action)
		}
	}
	slices.Sort(out)
	return out
}

// Reset forgets the recorded decisions (not the policy).
func (a *IAM) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.decisions = nil
}

// check is one authorization a request needs.
type check struct{ action, resource string }

// ServeHTTP authorizes the request and serves it through the wrapped
// handler, or answers the denial of the first check that fails.
func (a *IAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var checks []check
	registry := false
	switch {
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		if r.Header.Get("Authorization") == "" {
			break // answered 401 by next, before any IAM check
		}
		registry = true
		checks = a.registryChecks(r)
	case r.Method == http.MethodPost && r.URL.Path == "/":
		target := r.Header.Get("X-Amz-Target")
		var service, op string
		if o, ok := strings.CutPrefix(target, targetPrefix); ok {
			service, op = "ecr", o
		} else if o, ok := strings.CutPrefix(target, logsTargetPrefix); ok {
			service, op = "logs", o
		}
		if op == "" {
			break // not an AWS call this wraps: next says so
		}
		body, err := peekBody(r, maxAPIBody)
		if err != nil {
			awsjson.WriteError(w, &awsjson.Error{Code: "SerializationException", Message: "reading the request body: " + err.Error()})
			return
		}
		if service == "ecr" {
			checks = a.ecrChecks(op, body)
		} else {
			checks = a.logsChecks(op, body)
		}
	}
	for _, c := range checks {
		if a.authorize(c) {
			continue
		}
		msg := fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", a.principal, c.action, c.resource, c.action)
		if registry {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			writeRegError(w, regError{http.StatusForbidden, "DENIED", msg, nil})
		} else {
			awsjson.WriteError(w, &awsjson.Error{Code: "AccessDeniedException", Message: msg})
		}
		return
	}
	a.next.ServeHTTP(w, r)
}

// authorize evaluates c against the policy and records the decision.
func (a *IAM) authorize(c check) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	allowed := false
	for _, s := range a.policy.Statements {
		if !s.matches(c) {
			continue
		}
		if s.Deny {
			allowed = false
			break
		}
		allowed = true
	}
	a.decisions = append(a.decisions, Decision{Action: c.action, Resource: c.resource, Allowed: allowed})
	return allowed
}

func (s Statement) matches(c check) bool {
	return slices.ContainsFunc(s.Actions, func(p string) bool { return wildcard(strings.ToLower(p), strings.ToLower(c.action)) }) &&
		slices.ContainsFunc(s.Resources, func(p string) bool { return resourceMatch(p, c.resource) })
}

// resourceMatch matches an ARN pattern against a resource as IAM does: "*"
// matches everything; otherwise partition, service, region and account
// match segment by segment, and the resource part (which may hold colons)
// as a whole. A resource of "*" (an action with no resource type, such as
// ecr:GetAuthorizationToken) is matched only by "*".
func resourceMatch(pattern, resource string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	rp := strings.SplitN(resource, ":", 6)
	if len(pp) != 6 || len(rp) != 6 {
		return pattern == resource
	}
	for i := range pp {
		if !wildcard(pp[i], rp[i]) {
			return false
		}
	}
	return true
}

// wildcard matches s against pattern, where * is any run of characters and
// ? any one character.
func wildcard(pattern, s string) bool {
	// Iterative matching with backtracking to the last *: linear in
	// practice, never exponential.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// peekBody reads up to limit bytes of the body and puts them back, so the
// wrapped handler reads the whole body as sent.
func peekBody(r *http.Request, limit int64) ([]byte, error) {
	buf, err := io.ReadAll(io.LimitReader(r.Body, limit))
	if err != nil {
		return nil, err
	}
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), rest), rest}
	return buf, nil
}

// logsTargetPrefix is the X-Amz-Target prefix of CloudWatch Logs calls.
const logsTargetPrefix = "Logs_20140328."

// requestFields are the request members that name a call's resource.
type requestFields struct {
	RegistryID      string            `json:"registryId"`
	RepositoryName  string            `json:"repositoryName"`
	RepositoryNames []string          `json:"repositoryNames"`
	ResourceArn     string            `json:"resourceArn"`
	Tags            []json.RawMessage `json:"tags"`

	LogGroupName  string `json:"logGroupName"`
	LogStreamName string `json:"logStreamName"`
}

func (a *IAM) repositoryARN(account, name string) string {
	if account == "" {
		account = a.account
	}
	return fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", a.region, account, name)
}

// ecrChecks are the authorizations of an ECR API call. Its resource is the
// repository the call names (resourceArn for the tagging calls), or "*" for
// the registry-wide calls (GetAuthorizationToken, the registry scanning
// configuration): "Actions defined by Amazon Elastic Container Registry" in
// the Service Authorization Reference. CreateRepository with tags also
// needs ecr:TagResource ("Using Tag-Based Access Control", ECR User Guide:
// "If tags are specified in the resource-creating action, Amazon performs
// additional authorization ... to verify if users have permissions to
// create tags").
func (a *IAM) ecrChecks(op string, body []byte) []check {
	var f requestFields
	_ = json.Unmarshal(body, &f) // a bad body is the wrapped handler's to refuse
	action := "ecr:" + op
	if op == "ListImageReferrers" {
		// API Reference: "The IAM principal invoking this operation must
		// have the ecr:BatchGetImage permission."
		action = "ecr:BatchGetImage"
	}
	switch {
	case f.ResourceArn != "":
		return []check{{action, f.ResourceArn}}
	case op == "DescribeRepositories" || op == "BatchGetRepositoryScanningConfiguration":
		if len(f.RepositoryNames) == 0 {
			return []check{{action, a.repositoryARN(f.RegistryID, "*")}}
		}
		var cs []check
		for _, n := range f.RepositoryNames {
			cs = append(cs, check{action, a.repositoryARN(f.RegistryID, n)})
		}
		return cs
	case f.RepositoryName != "":
		arn := a.repositoryARN(f.RegistryID, f.RepositoryName)
		cs := []check{{action, arn}}
		if op == "CreateRepository" && len(f.Tags) > 0 {
			cs = append(cs, check{"ecr:TagResource", arn})
		}
		return cs
	}
	return []check{{action, "*"}}
}

// logsChecks are the authorizations of a CloudWatch Logs call, on the
// resource shapes CloudWatch Logs names in its AccessDenied messages:
// log-group:<group>:log-stream:<stream> for a stream, with an empty stream
// for a group, and with both empty for DescribeLogGroups.
func (a *IAM) logsChecks(op string, body []byte) []check {
	var f requestFields
	_ = json.Unmarshal(body, &f)
	return []check{{"logs:" + op, fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", a.region, a.account, f.LogGroupName, f.LogStreamName)}}
}

// registryChecks are the ECR actions a registry API request needs, from the
// ECR User Guide ("IAM permissions for pushing an image", "Private
// repository policies", "Blob mounting in Amazon ECR") and the API
// Reference's descriptions of the layer operations the registry runs:
//
//	HEAD blob                        ecr:BatchCheckLayerAvailability
//	GET blob                         ecr:GetDownloadUrlForLayer
//	POST upload                      ecr:InitiateLayerUpload
//	POST upload ?mount=&from=        also ecr:GetDownloadUrlForLayer on from
//	POST upload ?digest= (one shot)  also ecr:UploadLayerPart, ecr:CompleteLayerUpload
//	PATCH upload                     ecr:UploadLayerPart
//	PUT upload                       ecr:CompleteLayerUpload (and UploadLayerPart with a body)
//	GET, DELETE upload               ecr:UploadLayerPart (not documented; the closest operation)
//	GET, HEAD manifest               ecr:BatchGetImage
//	PUT manifest                     ecr:PutImage
//	DELETE manifest                  ecr:BatchDeleteImage
//	GET tags/list                    ecr:ListImages
//	GET, HEAD referrers              ecr:BatchGetImage (as ListImageReferrers)
//
// The ping (/v2/) needs only the token, that is ecr:GetAuthorizationToken
// when it was issued.
func (a *IAM) registryChecks(r *http.Request) []check {
	rt := routeRegistry(r.URL.Path)
	arn := a.repositoryARN("", rt.name)
	one := func(action string) []check { return []check{{action, arn}} }
	switch rt.kind {
	case routeBlob:
		switch r.Method {
		case http.MethodHead:
			return one("ecr:BatchCheckLayerAvailability")
		case http.MethodGet:
			return one("ecr:GetDownloadUrlForLayer")
		}
	case routeUpload:
		if rt.ref == "" {
			if r.Method != http.MethodPost {
				return nil
			}
			cs := one("ecr:InitiateLayerUpload")
			q := r.URL.Query()
			if from := q.Get("from"); from != "" && q.Get("mount") != "" {
				cs = append(cs, check{"ecr:GetDownloadUrlForLayer", a.repositoryARN("", from)})
			}
			if q.Get("digest") != "" {
				cs = append(cs, check{"ecr:UploadLayerPart", arn}, check{"ecr:CompleteLayerUpload", arn})
			}
			return cs
		}
		switch r.Method {
		case http.MethodPatch, http.MethodGet, http.MethodDelete:
			return one("ecr:UploadLayerPart")
		case http.MethodPut:
			if r.ContentLength > 0 {
				return []check{{"ecr:UploadLayerPart", arn}, {"ecr:CompleteLayerUpload", arn}}
			}
			return one("ecr:CompleteLayerUpload")
		}
	case routeManifest:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return one("ecr:BatchGetImage")
		case http.MethodPut:
			return one("ecr:PutImage")
		case http.MethodDelete:
			return one("ecr:BatchDeleteImage")
		}
	case routeTags:
		return one("ecr:ListImages")
	case routeReferrers:
		return one("ecr:BatchGetImage")
	}
	return nil // the ping, or a request the registry refuses anyway
}
