package scan

import (
	"fmt"
	"strings"
	"time"
)

// IgnoreRule is one ignore_vulnerabilities entry: a vulnerability ID and,
// optionally, the last day it is ignored.
type IgnoreRule struct {
	ID    string
	Until time.Time // the last day ignored (UTC midnight); zero = no end
}

// Expired reports whether the rule no longer applies on now's date.
func (r IgnoreRule) Expired(now time.Time) bool {
	if r.Until.IsZero() {
		return false
	}
	today := time.Date(now.UTC().Year(), now.UTC().Month(), now.UTC().Day(), 0, 0, 0, 0, time.UTC)
	return today.After(r.Until)
}

// String is the rule as the input spells it.
func (r IgnoreRule) String() string {
	if r.Until.IsZero() {
		return r.ID
	}
	return r.ID + " until " + r.Until.Format(time.DateOnly)
}

// Rules are the gate's inputs.
type Rules struct {
	// Threshold is fail_on_severity: the gate fails when a finding at or
	// above it remains after the ignore rules. None reports only.
	Threshold     Severity
	Ignore        []IgnoreRule
	IgnoreUnfixed bool
	Now           time.Time // for the until dates
}

// Gate is the verdict the scan_gate output reports.
type Gate string

const (
	GatePassed  Gate = "passed"
	GateFailed  Gate = "failed"
	GateSkipped Gate = "skipped"
)

// Ignored is a finding the ignore rules took out, and which rule did.
type Ignored struct {
	Finding
	Reason string // "ignore_vulnerabilities: CVE-… until 2027-01-31", "ignore_unfixed: no fix available"
}

// Verdict is the gate's decision and everything the reports show.
type Verdict struct {
	Gate      Gate
	Reason    string // one or two sentences: why it passed, failed or was skipped
	Status    string // the merged scan status ("" when skipped)
	Threshold Severity
	// Found counts every finding by severity; Counts those left after the
	// ignore rules, which the outputs report. Both hold every severity.
	Found  map[Severity]int
	Counts map[Severity]int
	// Counted are the findings left after the ignore rules, worst first;
	// Blocking is how many of them are at or above Threshold.
	Counted  []Finding
	Blocking int
	Ignored  []Ignored
	// Warnings are for the log: expired ignore entries, ignore_unfixed
	// with basic scanning.
	Warnings []string
}

func zeroCounts() map[Severity]int {
	m := make(map[Severity]int, 6)
	for _, s := range Severities() {
		m[s] = 0
	}
	return m
}

// Skipped is the verdict of a run that did not wait for a scan.
func Skipped(reason string) Verdict {
	return Verdict{Gate: GateSkipped, Reason: reason, Found: zeroCounts(), Counts: zeroCounts()}
}

// Evaluate applies the rules to a scan result.
func Evaluate(res *Result, rules Rules) Verdict {
	v := Verdict{
		Status:    res.Status(),
		Threshold: rules.Threshold,
		Found:     zeroCounts(),
		Counts:    zeroCounts(),
	}
	active := map[string]IgnoreRule{}
	used := map[string]bool{}
	for _, r := range rules.Ignore {
		if r.Expired(rules.Now) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("ignore_vulnerabilities: %s has expired, so %s counts again; remove the entry or move its date", r, r.ID))
			continue
		}
		active[strings.ToUpper(r.ID)] = r
	}
	if rules.IgnoreUnfixed && res.Mode != Enhanced {
		v.Warnings = append(v.Warnings, "ignore_unfixed has no effect with basic scanning, which does not say whether a fix exists; every finding counts")
	}
	for _, f := range res.Findings() {
		v.Found[f.Severity]++
		if r, ok := active[strings.ToUpper(f.ID)]; ok {
			used[strings.ToUpper(f.ID)] = true
			v.Ignored = append(v.Ignored, Ignored{f, "ignore_vulnerabilities: " + r.String()})
			continue
		}
		if rules.IgnoreUnfixed && res.Mode == Enhanced && f.Fix == FixNo {
			v.Ignored = append(v.Ignored, Ignored{f, "ignore_unfixed: no fix available"})
			continue
		}
		v.Counts[f.Severity]++
		v.Counted = append(v.Counted, f)
		if rules.Threshold != None && f.Severity.Rank() >= rules.Threshold.Rank() {
			v.Blocking++
		}
	}

	platforms := func(want func(PlatformResult) bool) []string {
		var out []string
		for _, p := range res.Platforms {
			if want(p) {
				name := p.Platform
				if name == "" {
					name = p.Digest
				}
				out = append(out, name)
			}
		}
		return out
	}
	notFinal := platforms(func(p PlatformResult) bool { return !HasFindings(p.Status) })
	reportOnly := rules.Threshold == None
	unknown := res.TimedOut || len(notFinal) > 0 || len(res.Platforms) == 0
	switch {
	case res.TimedOut:
		v.Reason = fmt.Sprintf("the scan did not finish within scan_timeout (waited %s; last status %s).", res.Waited.Round(time.Second), v.Status)
		v.Gate = failUnless(reportOnly)
	case len(res.Platforms) == 0:
		// No manifest was scanned: an empty list of findings proves nothing.
		v.Reason = "the scan result names no scanned manifest, so the image's findings are unknown."
		v.Gate = failUnless(reportOnly)
	case len(notFinal) > 0:
		v.Reason = fmt.Sprintf("the scan ended with status %s%s, so the image's findings are unknown.", v.Status, describe(res, notFinal))
		if v.Status == StatusImageArchived {
			v.Reason += fmt.Sprintf(" %s is archived, or its restore has not finished: its scan cannot be read until it is ACTIVE again. Fix: if DescribeImages shows it ARCHIVED, restore it with `%s`; re-run once it is ACTIVE (a restore takes minutes to hours).", res.Digest, RestoreCommand(repoName(res.Repository), res.Digest))
		}
		v.Gate = failUnless(reportOnly)
	case reportOnly:
		v.Gate = GatePassed
		v.Reason = fmt.Sprintf("fail_on_severity is NONE: %s reported, none gate the deploy.", countText(len(v.Counted), "finding"))
	case v.Blocking > 0:
		v.Gate = GateFailed
		v.Reason = fmt.Sprintf("%s at or above %s (fail_on_severity) remain after the ignore rules.", countText(v.Blocking, "finding"), rules.Threshold)
	default:
		v.Gate = GatePassed
		v.Reason = fmt.Sprintf("no finding at or above %s (fail_on_severity) remains after the ignore rules.", rules.Threshold)
	}
	if reportOnly && unknown {
		v.Reason += " fail_on_severity is NONE, so the gate does not fail."
	}
	for _, r := range rules.Ignore {
		if !r.Expired(rules.Now) && !used[strings.ToUpper(r.ID)] && HasFindings(v.Status) {
			v.Warnings = append(v.Warnings, fmt.Sprintf("ignore_vulnerabilities: %s matched no finding; remove it once it is no longer needed", r.ID))
		}
	}
	return v
}

func failUnless(reportOnly bool) Gate {
	if reportOnly {
		return GatePassed
	}
	return GateFailed
}

// describe names the platforms whose scan has no findings, each with its
// status when they differ, and ECR's description of the worst one when
// there is one.
func describe(res *Result, names []string) string {
	worst := res.Status()
	var desc string
	same := true
	var parts []string
	i := 0
	for _, p := range res.Platforms {
		if HasFindings(p.Status) {
			continue
		}
		if p.Status != worst {
			same = false
		}
		if desc == "" && p.Status == worst {
			desc = p.Description
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", names[i], p.Status))
		i++
	}
	s := ""
	switch {
	case len(res.Platforms) > 1 && same:
		s = " on " + strings.Join(names, ", ")
	case len(res.Platforms) > 1:
		s = " on " + strings.Join(parts, ", ")
	}
	if desc != "" {
		s += " (" + strings.TrimSuffix(desc, ".") + ")"
	}
	return s
}

func countText(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// repoName is the repository name of a repository URI
// (123456789012.dkr.ecr.us-east-1.amazonaws.com/app/web → app/web).
func repoName(uri string) string {
	if host, rest, ok := strings.Cut(uri, "/"); ok && strings.ContainsAny(host, ".:") {
		return rest
	}
	return uri
}
