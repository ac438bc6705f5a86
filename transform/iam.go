package transform

import (
	"bytes"
	"encoding/csv"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// gaadPage is one GetAccountAuthorizationDetails response in the API's field names
// (FORMATS.md §3.1). Each list item is decoded on its own (see GAAD), so one malformed item costs
// only itself.
type gaadPage struct {
	UserDetailList  []json.RawMessage `json:"UserDetailList"`
	GroupDetailList []json.RawMessage `json:"GroupDetailList"`
	RoleDetailList  []json.RawMessage `json:"RoleDetailList"`
	Policies        []json.RawMessage `json:"Policies"`
	IsTruncated     bool              `json:"IsTruncated"`
	Marker          string            `json:"Marker"`
}

// The item types hold dates and policy documents undecoded: each export writes them in its own
// form (gaadTime, policyDocument), and a bad one is named by its field.
type gaadUser struct {
	Path                    string          `json:"Path"`
	UserName                string          `json:"UserName"`
	UserID                  string          `json:"UserId"`
	ARN                     string          `json:"Arn"`
	CreateDate              json.RawMessage `json:"CreateDate"`
	UserPolicyList          []inlinePolicy  `json:"UserPolicyList"`
	GroupList               []string        `json:"GroupList"`
	AttachedManagedPolicies []attached      `json:"AttachedManagedPolicies"`
	PermissionsBoundary     *boundary       `json:"PermissionsBoundary"`
	Tags                    []tag           `json:"Tags"`
}

type gaadGroup struct {
	Path                    string          `json:"Path"`
	GroupName               string          `json:"GroupName"`
	GroupID                 string          `json:"GroupId"`
	ARN                     string          `json:"Arn"`
	CreateDate              json.RawMessage `json:"CreateDate"`
	GroupPolicyList         []inlinePolicy  `json:"GroupPolicyList"`
	AttachedManagedPolicies []attached      `json:"AttachedManagedPolicies"`
}

type gaadRole struct {
	Path                     string          `json:"Path"`
	RoleName                 string          `json:"RoleName"`
	RoleID                   string          `json:"RoleId"`
	ARN                      string          `json:"Arn"`
	CreateDate               json.RawMessage `json:"CreateDate"`
	AssumeRolePolicyDocument json.RawMessage `json:"AssumeRolePolicyDocument"`
	RolePolicyList           []inlinePolicy  `json:"RolePolicyList"`
	AttachedManagedPolicies  []attached      `json:"AttachedManagedPolicies"`
	PermissionsBoundary      *boundary       `json:"PermissionsBoundary"`
	Tags                     []tag           `json:"Tags"`
	RoleLastUsed             *struct {
		LastUsedDate json.RawMessage `json:"LastUsedDate"`
		Region       string          `json:"Region"`
	} `json:"RoleLastUsed"`
}

type gaadPolicy struct {
	PolicyName        string          `json:"PolicyName"`
	PolicyID          string          `json:"PolicyId"`
	ARN               string          `json:"Arn"`
	Path              string          `json:"Path"`
	DefaultVersionID  string          `json:"DefaultVersionId"`
	AttachmentCount   int64           `json:"AttachmentCount"`
	IsAttachable      bool            `json:"IsAttachable"`
	CreateDate        json.RawMessage `json:"CreateDate"`
	UpdateDate        json.RawMessage `json:"UpdateDate"`
	PolicyVersionList []struct {
		Document         json.RawMessage `json:"Document"`
		VersionID        string          `json:"VersionId"`
		IsDefaultVersion bool            `json:"IsDefaultVersion"`
	} `json:"PolicyVersionList"`
}

type inlinePolicy struct {
	PolicyName     string          `json:"PolicyName"`
	PolicyDocument json.RawMessage `json:"PolicyDocument"`
}

type attached struct {
	PolicyName string `json:"PolicyName"`
	PolicyARN  string `json:"PolicyArn"`
}

type boundary struct {
	PermissionsBoundaryARN string `json:"PermissionsBoundaryArn"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// IAMSnapshot holds the rows of one account's entitlement snapshot.
type IAMSnapshot struct {
	Users       []schemas.IAMUser
	Groups      []schemas.IAMGroup
	Roles       []schemas.IAMRole
	Policies    []schemas.IAMPolicy
	Memberships []schemas.IAMGroupMembership
	Attachments []schemas.IAMPolicyAttachment
	Statements  []schemas.IAMPolicyStatement
	// Skipped lists what was left out because it was malformed: one error per item (a user,
	// group, role or managed policy, an inline policy, a trust policy, a group membership), each
	// naming the source key, the page, the item and the field. The rest of the snapshot holds.
	Skipped []error
}

// SnapshotMeta says whose snapshot it is and when it was taken.
type SnapshotMeta struct {
	AccountID  string
	SnapshotAt time.Time
	Lineage
}

// InlinePolicyKey is the policy_key of an inline policy: the principal ARN, "#inline/", the name.
func InlinePolicyKey(principalARN, name string) string { return principalARN + "#inline/" + name }

// gaadTimeLayouts are the date forms GAAD exports use (time.Parse accepts fractional seconds
// after the seconds even when the layout has none):
//   - the API and the Go SDK: 2026-01-02T03:04:05Z;
//   - the AWS CLI (botocore's ISO 8601): 2026-01-02T03:04:05+00:00;
//   - boto3 written with json.dumps(default=str), as cloudsplaining's download does
//     (salesforce/cloudsplaining test/files/example-authz-details.json): 2026-01-02 03:04:05+00:00.
var gaadTimeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00"}

// gaadTime parses a date field; absent, null or "" is the zero time (ok reports presence).
func gaadTime(raw json.RawMessage) (t time.Time, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, false, fmt.Errorf("date %.40s is not a string", raw)
	}
	if s == "" {
		return time.Time{}, false, nil
	}
	for _, layout := range gaadTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("date %q is neither 2006-01-02T15:04:05Z, …+00:00 nor 2006-01-02 15:04:05+00:00", trunc(s))
}

// policyDocument returns the compact JSON text of a policy document field in either form GAAD
// exports write it: the API's URL-encoded string (FORMATS.md §3.1), or the JSON object that the
// AWS CLI and boto3 write after botocore's json_decode_policies has decoded it. Compacting makes
// both forms yield the same text: the API keeps the author's layout, the CLI re-indents it.
func policyDocument(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	var text []byte
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", errors.New("no policy document")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("policy document string: %w", err)
		}
		d, err := DecodePolicyDocument(s)
		if err != nil {
			return "", err
		}
		text = []byte(d)
	case raw[0] == '{':
		text = raw
	default:
		return "", fmt.Errorf("policy document %.20s… is neither a JSON object nor a URL-encoded string", raw)
	}
	var buf bytes.Buffer
	if err := stdjson.Compact(&buf, text); err != nil {
		return "", fmt.Errorf("policy document is not JSON: %w", err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return "", errors.New("policy document is not a JSON object")
	}
	return buf.String(), nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// itemName names a list item for an error even when the item does not decode: its Arn, else its
// name field, else its place in the list.
func itemName(raw json.RawMessage, nameField, list string, i int) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		for _, k := range []string{"Arn", nameField} {
			var s string
			if json.Unmarshal(m[k], &s) == nil && s != "" {
				return fmt.Sprintf("%s %q", strings.ToLower(k), trunc(s))
			}
		}
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

// gaadItem is one undecoded list item and the page it came from.
type gaadItem struct {
	raw   json.RawMessage
	page  int
	index int
}

// GAAD turns every page of one account's GetAccountAuthorizationDetails response into snapshot
// rows. All pages are needed at once: group ARNs for memberships come from GroupDetailList, which
// may sit on another page than the user.
//
// Pages may be in the API's form (documents URL-encoded) or the AWS CLI's and boto3's (documents
// as objects), dates in any of gaadTimeLayouts. A malformed item costs only itself: it is left out
// and listed in IAMSnapshot.Skipped, named by meta.SourceKey, page, item and field. The error is
// for a snapshot unusable as a whole: a page that is not a GAAD JSON object, or a last page that
// says more follow.
func GAAD(pages [][]byte, meta SnapshotMeta) (*IAMSnapshot, error) {
	var users, groups, roles, policies []gaadItem
	for i, b := range pages {
		var p gaadPage
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("%s: gaad page %d: %w", meta.SourceKey, i+1, err)
		}
		add := func(dst *[]gaadItem, list []json.RawMessage) {
			for j, raw := range list {
				*dst = append(*dst, gaadItem{raw: raw, page: i + 1, index: j})
			}
		}
		add(&users, p.UserDetailList)
		add(&groups, p.GroupDetailList)
		add(&roles, p.RoleDetailList)
		add(&policies, p.Policies)
		if i == len(pages)-1 && p.IsTruncated {
			return nil, fmt.Errorf("%s: gaad page %d is truncated (marker %q) but no page follows", meta.SourceKey, i+1, trunc(p.Marker))
		}
	}
	s := &IAMSnapshot{}
	at, lin := meta.SnapshotAt.UTC(), meta.Lineage
	stBase := schemas.IAMPolicyStatement{SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
	// decode decodes one item; on failure it records the skip and reports false.
	decode := func(it gaadItem, list, nameField string, v any) (name string, ok bool) {
		if err := json.Unmarshal(it.raw, v); err != nil {
			s.skip(meta, it.page, itemName(it.raw, nameField, list, it.index), err)
			return "", false
		}
		return itemName(it.raw, nameField, list, it.index), true
	}
	created := func(it gaadItem, name string, field string, raw json.RawMessage) (time.Time, bool) {
		t, _, err := gaadTime(raw)
		if err != nil {
			s.skip(meta, it.page, name, fmt.Errorf("%s: %w", field, err))
			return time.Time{}, false
		}
		return t, true
	}
	addInline := func(it gaadItem, principalARN, principalType, field string, ps []inlinePolicy) {
		for _, p := range ps {
			key := InlinePolicyKey(principalARN, p.PolicyName)
			doc, err := policyDocument(p.PolicyDocument)
			var sts []schemas.IAMPolicyStatement
			if err == nil {
				sts, err = PolicyStatements(key, doc, stBase)
			}
			if err != nil {
				s.skip(meta, it.page, fmt.Sprintf("arn %q %s policy %q", principalARN, field, trunc(p.PolicyName)), err)
				continue
			}
			s.Attachments = append(s.Attachments, schemas.IAMPolicyAttachment{
				PrincipalARN: principalARN, PrincipalType: principalType, PolicyType: schemas.PolicyInline,
				PolicyKey: key, PolicyName: p.PolicyName, Document: &doc,
				SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey,
			})
			s.Statements = append(s.Statements, sts...)
		}
	}
	addManaged := func(it gaadItem, principalARN, principalType string, ps []attached) {
		for _, p := range ps {
			arn := p.PolicyARN
			if arn == "" {
				s.skip(meta, it.page, fmt.Sprintf("arn %q AttachedManagedPolicies %q", principalARN, trunc(p.PolicyName)), errors.New("no PolicyArn"))
				continue
			}
			s.Attachments = append(s.Attachments, schemas.IAMPolicyAttachment{
				PrincipalARN: principalARN, PrincipalType: principalType, PolicyType: schemas.PolicyManaged,
				PolicyKey: arn, PolicyARN: &arn, PolicyName: p.PolicyName,
				SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey,
			})
		}
	}
	noARN := func(it gaadItem, name string) bool {
		s.skip(meta, it.page, name, errors.New("no Arn"))
		return true
	}

	groupARN := map[string]string{}
	for _, it := range groups {
		var g gaadGroup
		name, ok := decode(it, "GroupDetailList", "GroupName", &g)
		if !ok || g.ARN == "" && noARN(it, name) {
			continue
		}
		createdAt, ok := created(it, name, "CreateDate", g.CreateDate)
		if !ok {
			continue
		}
		groupARN[g.GroupName] = g.ARN
		s.Groups = append(s.Groups, schemas.IAMGroup{ARN: g.ARN, GroupName: g.GroupName, GroupID: g.GroupID, Path: g.Path,
			CreatedAt: createdAt, SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey})
		addInline(it, g.ARN, "iam_group", "GroupPolicyList", g.GroupPolicyList)
		addManaged(it, g.ARN, "iam_group", g.AttachedManagedPolicies)
	}
	for _, it := range users {
		var u gaadUser
		name, ok := decode(it, "UserDetailList", "UserName", &u)
		if !ok || u.ARN == "" && noARN(it, name) {
			continue
		}
		createdAt, ok := created(it, name, "CreateDate", u.CreateDate)
		if !ok {
			continue
		}
		row := schemas.IAMUser{ARN: u.ARN, UserName: u.UserName, UserID: u.UserID, Path: u.Path, CreatedAt: createdAt,
			Tags: tagsJSON(u.Tags), SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
		if u.PermissionsBoundary != nil {
			row.PermissionsBoundaryARN = opt(u.PermissionsBoundary.PermissionsBoundaryARN)
		}
		s.Users = append(s.Users, row)
		for _, g := range u.GroupList {
			arn, ok := groupARN[g]
			if !ok {
				s.skip(meta, it.page, name, fmt.Errorf("GroupList: group %q is not in GroupDetailList (or was skipped): membership left out", trunc(g)))
				continue
			}
			s.Memberships = append(s.Memberships, schemas.IAMGroupMembership{UserARN: u.ARN, GroupName: g, GroupARN: arn,
				SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey})
		}
		addInline(it, u.ARN, schemas.PrincipalIAMUser, "UserPolicyList", u.UserPolicyList)
		addManaged(it, u.ARN, schemas.PrincipalIAMUser, u.AttachedManagedPolicies)
	}
	for _, it := range roles {
		var r gaadRole
		name, ok := decode(it, "RoleDetailList", "RoleName", &r)
		if !ok || r.ARN == "" && noARN(it, name) {
			continue
		}
		createdAt, ok := created(it, name, "CreateDate", r.CreateDate)
		if !ok {
			continue
		}
		row := schemas.IAMRole{ARN: r.ARN, RoleName: r.RoleName, RoleID: r.RoleID, Path: r.Path, CreatedAt: createdAt,
			IsServiceLinked: strings.HasPrefix(r.Path, "/aws-service-role/"),
			IsSSO:           strings.HasPrefix(r.Path, "/aws-reserved/sso.amazonaws.com/") || strings.HasPrefix(r.RoleName, "AWSReservedSSO_"),
			Tags:            tagsJSON(r.Tags), SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
		// The trust policy and RoleLastUsed describe the role but grant nothing: a bad one is left
		// NULL (and named), the role and its grants stay.
		if raw := bytes.TrimSpace(r.AssumeRolePolicyDocument); len(raw) > 0 && string(raw) != "null" && string(raw) != `""` {
			if doc, err := policyDocument(raw); err != nil {
				s.skip(meta, it.page, name, fmt.Errorf("AssumeRolePolicyDocument: %w", err))
			} else {
				row.AssumeRolePolicyDocument = &doc
			}
		}
		if r.PermissionsBoundary != nil {
			row.PermissionsBoundaryARN = opt(r.PermissionsBoundary.PermissionsBoundaryARN)
		}
		if r.RoleLastUsed != nil {
			t, ok, err := gaadTime(r.RoleLastUsed.LastUsedDate)
			switch {
			case err != nil:
				s.skip(meta, it.page, name, fmt.Errorf("RoleLastUsed.LastUsedDate: %w", err))
			case ok && !t.IsZero():
				row.RoleLastUsedAt, row.RoleLastUsedRegion = &t, opt(r.RoleLastUsed.Region)
			}
		}
		s.Roles = append(s.Roles, row)
		addInline(it, r.ARN, schemas.PrincipalIAMRole, "RolePolicyList", r.RolePolicyList)
		addManaged(it, r.ARN, schemas.PrincipalIAMRole, r.AttachedManagedPolicies)
	}
	for _, it := range policies {
		var p gaadPolicy
		name, ok := decode(it, "Policies", "PolicyName", &p)
		if !ok || p.ARN == "" && noARN(it, name) {
			continue
		}
		createdAt, ok := created(it, name, "CreateDate", p.CreateDate)
		if !ok {
			continue
		}
		updatedAt, ok := created(it, name, "UpdateDate", p.UpdateDate)
		if !ok {
			continue
		}
		row := schemas.IAMPolicy{ARN: p.ARN, PolicyName: p.PolicyName, PolicyID: p.PolicyID, Path: p.Path,
			IsAWSManaged:     strings.HasPrefix(p.ARN, "arn:aws:iam::aws:") || strings.Contains(p.ARN, ":iam::aws:policy/"),
			DefaultVersionID: p.DefaultVersionID, AttachmentCount: p.AttachmentCount, IsAttachable: p.IsAttachable,
			CreatedAt: createdAt, UpdatedAt: updatedAt, SnapshotAt: at, RunID: lin.RunID, SourceKey: lin.SourceKey}
		// Only the default version grants anything; the others are not decoded, so a bad old
		// version costs nothing.
		var err error = fmt.Errorf("default version %q is not in PolicyVersionList", trunc(p.DefaultVersionID))
		var sts []schemas.IAMPolicyStatement
		for _, v := range p.PolicyVersionList {
			if v.VersionID != p.DefaultVersionID && !(p.DefaultVersionID == "" && v.IsDefaultVersion) {
				continue
			}
			row.Document, err = policyDocument(v.Document)
			if err == nil {
				sts, err = PolicyStatements(p.ARN, row.Document, stBase)
			}
			if err != nil {
				err = fmt.Errorf("version %s: %w", trunc(v.VersionID), err)
			}
			break
		}
		if err != nil {
			s.skip(meta, it.page, name, err)
			continue
		}
		s.Statements = append(s.Statements, sts...)
		s.Policies = append(s.Policies, row)
	}
	s.sort()
	return s, nil
}

// skip records one left-out item: "<source key> gaad page <n>: <item>: <what is wrong>".
func (s *IAMSnapshot) skip(meta SnapshotMeta, page int, item string, err error) {
	s.Skipped = append(s.Skipped, fmt.Errorf("%s gaad page %d: %s: %w", meta.SourceKey, page, item, err))
}

func (s *IAMSnapshot) sort() {
	sort.Slice(s.Users, func(i, j int) bool { return s.Users[i].ARN < s.Users[j].ARN })
	sort.Slice(s.Groups, func(i, j int) bool { return s.Groups[i].ARN < s.Groups[j].ARN })
	sort.Slice(s.Roles, func(i, j int) bool { return s.Roles[i].ARN < s.Roles[j].ARN })
	sort.Slice(s.Policies, func(i, j int) bool { return s.Policies[i].ARN < s.Policies[j].ARN })
	sort.Slice(s.Memberships, func(i, j int) bool {
		a, b := s.Memberships[i], s.Memberships[j]
		return a.UserARN < b.UserARN || a.UserARN == b.UserARN && a.GroupARN < b.GroupARN
	})
	sort.Slice(s.Attachments, func(i, j int) bool {
		a, b := s.Attachments[i], s.Attachments[j]
		return a.PrincipalARN < b.PrincipalARN || a.PrincipalARN == b.PrincipalARN && a.PolicyKey < b.PolicyKey
	})
	sort.Slice(s.Statements, func(i, j int) bool {
		a, b := s.Statements[i], s.Statements[j]
		return a.PolicyKey < b.PolicyKey || a.PolicyKey == b.PolicyKey && a.StatementIndex < b.StatementIndex
	})
}

func tagsJSON(tags []tag) *string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	b, err := json.Marshal(m) // map keys are sorted: deterministic
	if err != nil {
		return nil
	}
	s := string(b)
	return &s
}

// credentialReportColumns are the columns CredentialReport builds rows from, and so the columns a
// report must have (FORMATS.md §3.2 lists all 22). Each is required because its absence is not
// neutral: a missing mfa_active or access_key_1_active would read as false for every user, a
// missing *_last_used_date as "never used", which is exactly what the marts report as inactive.
// password_next_rotation, the *_last_used_region and the cert_* columns are not read, so a report
// without them is fine, as are extra or reordered columns (columns are found by name).
var credentialReportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_service",
}

// CredentialReport parses the IAM credential report CSV into rows. Columns are found by header
// name, so a report with extra or reordered columns parses. N/A, no_information and not_supported
// become NULL.
//
// A row that cannot be read (a malformed CSV line, a bad date or boolean, no arn) is left out and
// listed in skipped, named by meta.SourceKey, line, user and column. The error is for a report
// unusable as a whole: no header, a header missing a required column (credentialReportColumns) or
// naming one twice.
func CredentialReport(csvData []byte, meta SnapshotMeta) (rows []schemas.IAMCredential, skipped []error, err error) {
	r := csv.NewReader(bytes.NewReader(csvData))
	r.FieldsPerRecord = -1 // a short or long row is skipped below, not fatal
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: credential report header: %w", meta.SourceKey, err)
	}
	col := map[string]int{}
	var dup []string
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a byte-order mark left by a spreadsheet
		}
		if _, ok := col[h]; ok {
			dup = append(dup, h)
		}
		col[h] = i
	}
	var missing []string
	for _, c := range credentialReportColumns {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, nil, fmt.Errorf("%s: credential report has no column %s", meta.SourceKey, strings.Join(missing, ", "))
	}
	for _, c := range dup {
		if slices.Contains(credentialReportColumns, c) {
			return nil, nil, fmt.Errorf("%s: credential report has column %s twice", meta.SourceKey, c)
		}
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("%s: credential report: %w", meta.SourceKey, err)
			}
			skipped = append(skipped, fmt.Errorf("%s: credential report line %d: %w", meta.SourceKey, pe.StartLine, pe.Err))
			continue
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			skipped = append(skipped, fmt.Errorf("%s: credential report line %d: %d fields, the header has %d", meta.SourceKey, line, len(rec), len(header)))
			continue
		}
		row, err := credentialRow(rec, col, meta)
		if err != nil {
			user := strings.TrimSpace(rec[col["user"]])
			skipped = append(skipped, fmt.Errorf("%s: credential report line %d (user %q): %w", meta.SourceKey, line, trunc(user), err))
			continue
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ARN < rows[j].ARN })
	return rows, skipped, nil
}

// credentialRow builds one row; the error names the first bad column.
func credentialRow(rec []string, col map[string]int, meta SnapshotMeta) (schemas.IAMCredential, error) {
	var perr error
	get := func(name string) string { return strings.TrimSpace(rec[col[name]]) }
	fail := func(name string, err error) {
		if perr == nil {
			perr = fmt.Errorf("column %s: %w", name, err)
		}
	}
	ts := func(name string) *time.Time {
		t, err := reportTime(get(name))
		if err != nil {
			fail(name, err)
		}
		return t
	}
	// optBool: password_enabled is not_supported for the root user (FORMATS.md §3.2).
	optBool := func(name string) *bool {
		v := get(name)
		if isNA(v) {
			return nil
		}
		b, err := reportBool(v)
		if err != nil {
			fail(name, err)
		}
		return &b
	}
	boolean := func(name string) bool {
		b, err := reportBool(get(name))
		if err != nil {
			fail(name, err)
		}
		return b
	}
	row := schemas.IAMCredential{
		User: get("user"), ARN: get("arn"),
		UserCreatedAt:         ts("user_creation_time"),
		IsPasswordEnabled:     optBool("password_enabled"),
		PasswordLastUsedAt:    ts("password_last_used"),
		PasswordLastChangedAt: ts("password_last_changed"),
		IsMFAActive:           boolean("mfa_active"),
		IsAccessKey1Active:    boolean("access_key_1_active"),
		AccessKey1LastRotated: ts("access_key_1_last_rotated"),
		AccessKey1LastUsedAt:  ts("access_key_1_last_used_date"),
		AccessKey1LastService: naOpt(get("access_key_1_last_used_service")),
		IsAccessKey2Active:    boolean("access_key_2_active"),
		AccessKey2LastRotated: ts("access_key_2_last_rotated"),
		AccessKey2LastUsedAt:  ts("access_key_2_last_used_date"),
		AccessKey2LastService: naOpt(get("access_key_2_last_used_service")),
		SnapshotAt:            meta.SnapshotAt.UTC(), RunID: meta.RunID, SourceKey: meta.SourceKey,
	}
	if perr != nil {
		return row, perr
	}
	if row.ARN == "" {
		return row, errors.New("column arn: empty")
	}
	return row, nil
}

func isNA(s string) bool {
	switch strings.ToLower(s) {
	case "", "n/a", "no_information", "not_supported":
		return true
	}
	return false
}

func naOpt(s string) *string {
	if isNA(s) {
		return nil
	}
	return &s
}

func reportTime(s string) (*time.Time, error) {
	if isNA(s) {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, err
	}
	t = t.UTC()
	return &t, nil
}

// reportBool reads a documented TRUE/FALSE case-insensitively (FORMATS.md §3.2). Anything else is
// an error: reading it as false would say "no MFA" or "key inactive" without evidence.
func reportBool(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, nil
	case strings.EqualFold(s, "false"):
		return false, nil
	}
	return false, fmt.Errorf("%q is neither TRUE nor FALSE", trunc(s))
}
