package action

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/org/ecr-action/internal/image"
	"github.com/org/ecr-action/internal/scan"
	"github.com/org/ecr-action/internal/scanlog"
)

// logScan writes the run's scan result to scan_log_group, when it is set.
func (r *run) logScan(ctx context.Context) error {
	cfg, wf, o, img, repo, getenv := r.cfg, r.wf, r.scan, r.sum, r.repo, r.getenv
	if cfg.Scan.LogGroup == "" || img == nil {
		return nil
	}
	v := o.verdict
	counts := map[string]int{}
	for _, s := range scan.Severities() {
		counts[string(s)] = v.Counts[s]
	}
	ev := scanlog.Event{
		Repository: repo.Name,
		Registry:   repo.RegistryURL(),
		Digest:     img.Digest,
		ScanMode:   string(o.mode),
		Status:     v.Status,
		Gate:       string(v.Gate),
		Reason:     v.Reason,
		Threshold:  string(cfg.Scan.Threshold),
		Counts:     counts,
		Blocking:   v.Blocking,
		Ignored:    len(v.Ignored),
		Commit:     getenv("GITHUB_SHA"),
		Ref:        getenv("GITHUB_REF"),
		RunURL:     runURL(getenv),
		Time:       r.clk.Now(),
	}
	for _, t := range img.Tags {
		if t.Action != image.TagWithheld {
			ev.Tags = append(ev.Tags, t.Tag)
		}
	}
	client := cloudwatchlogs.NewFromConfig(r.awsCfg) // its retryer is awsauth.NewRetryer
	end := wf.Group("Scan log " + cfg.Scan.LogGroup)
	defer end()
	res, err := scanlog.Write(ctx, client, cfg.Scan.LogGroup, cfg.Scan.LogRetentionDays, ev)
	if err != nil {
		return err
	}
	switch {
	case res.GroupCreated:
		wf.Infof("log group %s created", res.Group)
	case res.RetentionSet || res.RetentionRemoved:
		wf.Infof("log group %s: retention updated", res.Group)
	}
	wf.Infof("scan result logged to %s, stream %s (%d write call(s))", res.Group, res.Stream, res.WriteCalls)
	return nil
}
