package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy documents of the demo. The AWS managed ones are trimmed but keep the real statements'
// shape (PowerUserAccess's Allow NotAction iam:*, ViewOnlyAccess's wildcards) and are stored
// pretty-printed, as AWS stores them, so decoding must cope with encoded newlines and spaces.
const (
	docAdmin      = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	docViewOnly1  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","s3:ListAllMyBuckets","iam:List*"],"Resource":"*"}]}`
	docViewOnly2  = `{"Version":"2012-10-17","Statement":[{"Sid":"ViewOnlyActions","Effect":"Allow","Action":["ec2:Describe*","s3:ListAllMyBuckets","s3:GetBucketLocation","iam:List*","iam:Get*","cloudwatch:Describe*","cloudwatch:Get*","cloudwatch:List*","lambda:List*","dynamodb:ListTables","dynamodb:DescribeTable","kms:List*","kms:DescribeKey","cloudtrail:DescribeTrails","cloudtrail:LookupEvents","logs:Describe*","cloudformation:Describe*","cloudformation:List*"],"Resource":"*"}]}`
	docPowerUser1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`
	docPowerUser2 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions","account:GetAccountInformation"],"Resource":"*"}]}`
	docSupportLinked1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["support:*"],"Resource":"*"}]}`
	docSupportLinked2 = `{"Version":"2012-10-17","Statement":[{"Sid":"SupportAccess","Effect":"Allow","Action":["support:*","trustedadvisor:Describe*","ec2:DescribeRegions","iam:GetAccountSummary"],"Resource":"*"}]}`

	docDeveloperV1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	docDeveloperV2 = `{"Version":"2012-10-17","Statement":[{"Sid":"Build","Effect":"Allow","Action":["ec2:Describe*","s3:Get*","s3:List*","lambda:*","logs:Describe*"],"Resource":"*"},` +
		`{"Sid":"NoIAM","Effect":"Deny","Action":"iam:*","Resource":"*"}]}`
	docProcessorV1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:*","logs:*","sqs:*"],"Resource":"*"}]}`
	docProcessorV2 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["lambda:GetFunction","lambda:ListFunctions","logs:CreateLogStream","logs:PutLogEvents","sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"*"}]}`
	// DeployAccess was rolled back: v3 exists but v2 is the default version.
	docDeployV1 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*","s3:*"],"Resource":"*"}]}`
	docDeployV2 = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*","s3:Get*","s3:List*","cloudformation:*"],"Resource":"*"},` +
		`{"Sid":"OnlyThese","Effect":"Deny","NotAction":["ec2:*","s3:*","cloudformation:*","sts:GetCallerIdentity"],"Resource":"*"}]}`
	docDeployV3   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*","s3:*","cloudformation:*","iam:PassRole"],"Resource":"*"}]}`
	docBoundaryV1 = `{"Version":"2012-10-17","Statement":[{"Sid":"Ceiling","Effect":"Allow","Action":["s3:*","kms:Decrypt"],"Resource":"*"}]}`
	docBoundaryV2 = `{"Version":"2012-10-17","Statement":[{"Sid":"Ceiling","Effect":"Allow","Action":["s3:*","kms:Decrypt","sts:AssumeRole","ec2:Describe*"],"Resource":"*"}]}`

	docDevLogs   = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}`
	docAppInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*"},` +
		`{"Effect":"Allow","Action":["dynamodb:DescribeTable","dynamodb:GetItem","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:*:*:table/orders"},` +
		`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":["ssm.us-east-1.amazonaws.com","ssm.eu-west-1.amazonaws.com"]}}},` +
		`{"Effect":"Allow","Action":["ssm:GetParameter*"],"Resource":"arn:aws:ssm:*:*:parameter/app/*"},{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::orders-data/*"}]}`
	docCIInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","kms:Decrypt","kms:Encrypt"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/cross-account-deploy"}]}`
	docAliceInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/cross-account-deploy"},` +
		`{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}}]}`
	docCarolInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetFederationToken","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}`
	docHeidiInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"},` +
		`{"Effect":"Deny","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":"arn:aws:s3:::*-confidential/*"}]}`
	docScannerInline  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:Describe*","cloudtrail:Get*","s3:GetBucket*","iam:List*","ec2:Describe*","kms:List*"],"Resource":"*"}]}`
	docPipelineInline = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:*"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":["s3:Get*","s3:List*","s3:PutObject"],"Resource":"*"},{"Effect":"Deny","Action":"dynamodb:Delete*","Resource":"*"}]}`
)

func trustService(svc string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + svc + `"},"Action":"sts:AssumeRole"}]}`
}

func trustAccounts(accts ...string) string {
	ps := make([]string, len(accts))
	for i, a := range accts {
		ps[i] = `"arn:aws:iam::` + a + `:root"`
	}
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":[` + strings.Join(ps, ",") +
		`]},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"permlake-demo"}}}]}`
}

func trustSAML(acct string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + acct +
		`:saml-provider/AWSSSO_` + hexID("saml" + acct)[:16] + `_DO_NOT_DELETE"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"],` +
		`"Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`
}

type managedPolicy struct {
	name, path string
	aws        bool
	versions   []string // v1, v2, ...
	dflt       int      // index of the default version
}

func (p managedPolicy) arn(acct string) string {
	if p.aws {
		return "arn:aws:iam::aws:policy" + p.path + p.name
	}
	return "arn:aws:iam::" + acct + ":policy" + p.path + p.name
}

// managedPolicies holds every managed policy by name. Each has an older, non-default version.
var managedPolicies = map[string]managedPolicy{
	"AdministratorAccess": {name: "AdministratorAccess", path: "/", aws: true, versions: []string{docAdmin, docAdmin}, dflt: 1},
	"ViewOnlyAccess":      {name: "ViewOnlyAccess", path: "/job-function/", aws: true, versions: []string{docViewOnly1, docViewOnly2}, dflt: 1},
	"PowerUserAccess":     {name: "PowerUserAccess", path: "/", aws: true, versions: []string{docPowerUser1, docPowerUser2}, dflt: 1},
	"AWSSupportServiceRolePolicy": {name: "AWSSupportServiceRolePolicy", path: "/aws-service-role/", aws: true,
		versions: []string{docSupportLinked1, docSupportLinked2}, dflt: 1},
	"DeveloperAccess": {name: "DeveloperAccess", path: "/", versions: []string{docDeveloperV1, docDeveloperV2}, dflt: 1},
	"ProcessorPolicy": {name: "ProcessorPolicy", path: "/app/", versions: []string{docProcessorV1, docProcessorV2}, dflt: 1},
	"DeployAccess":    {name: "DeployAccess", path: "/", versions: []string{docDeployV1, docDeployV2, docDeployV3}, dflt: 1},
	"CIBoundary":      {name: "CIBoundary", path: "/boundaries/", versions: []string{docBoundaryV1, docBoundaryV2}, dflt: 1},
}

type group struct {
	name    string
	managed []string
	inline  map[string]string
}

// user is an IAM user with its credentials as the credential report shows them.
type user struct {
	name, path string
	groups     []string
	managed    []string
	inline     map[string]string
	password   bool // console password enabled
	mfa        bool
	key2       bool // a second, inactive access key
}

type role struct {
	name, path    string
	trust         string
	managed       []string
	inline        map[string]string
	serviceLinked bool
	boundary      string // managed policy name of the permissions boundary, if any
}

// accountIAM is one account's identities.
type accountIAM struct {
	acct   Account
	groups []group
	users  []user
	roles  []role
}

// buildIAM lays out the identities of account i of accts. Accounts differ: the management and
// log-archive accounts hold few identities; members hold the workloads, and the second and third
// members have identities of their own.
func buildIAM(accts []Account, i int) accountIAM {
	a := accts[i]
	mgmt := accts[0].ID
	iam := accountIAM{acct: a}
	iam.groups = []group{
		{name: "admins", managed: []string{"AdministratorAccess"}},
		{name: "developers", managed: []string{"DeveloperAccess"}, inline: map[string]string{"dev-logs": docDevLogs}},
		{name: "readonly", managed: []string{"ViewOnlyAccess"}},
	}
	bob := user{name: "bob", path: "/", groups: []string{"admins"}, password: true, mfa: true, key2: true}
	dave := user{name: "dave", path: "/", groups: []string{"readonly"}}
	erin := user{name: "erin", path: "/", groups: []string{"developers", "readonly"}}                   // key last used long ago
	frank := user{name: "frank", path: "/", groups: []string{"readonly"}, password: true}               // console only, a month ago
	grace := user{name: "grace", path: "/contractors/", groups: []string{"developers"}, password: true} // never signed in
	sso := func(set, policy string) role {
		return role{name: "AWSReservedSSO_" + set + "_" + hexID(set + a.ID)[:16], path: "/aws-reserved/sso.amazonaws.com/",
			trust: trustSAML(a.ID), managed: []string{policy}}
	}
	common := []role{
		sso("AdministratorAccess", "AdministratorAccess"),
		sso("ReadOnly", "ViewOnlyAccess"),
		{name: "AWSServiceRoleForSupport", path: "/aws-service-role/support.amazonaws.com/", trust: trustService("support.amazonaws.com"),
			managed: []string{"AWSSupportServiceRolePolicy"}, serviceLinked: true},
		{name: "security-scanner", path: "/security/", trust: trustService("lambda.amazonaws.com"), inline: map[string]string{"scanner": docScannerInline}},
		{name: "legacy-batch", path: "/", trust: trustService("ec2.amazonaws.com"), managed: []string{"PowerUserAccess"}},
		{name: "reporting", path: "/", trust: trustAccounts(a.ID), managed: []string{"ViewOnlyAccess"}},
	}
	switch a.Kind {
	case KindManagement:
		iam.users = []user{bob, dave, erin, frank, grace}
		iam.roles = append(common, role{name: "platform-admin", path: "/", trust: trustAccounts(a.ID), managed: []string{"PowerUserAccess"}})
	case KindLogArchive:
		iam.groups = iam.groups[:1:1]
		iam.groups = append(iam.groups, group{name: "readonly", managed: []string{"ViewOnlyAccess"}})
		iam.users = []user{bob, frank, {name: "erin", path: "/", groups: []string{"readonly"}}}
		iam.roles = append(common, role{name: "OrganizationAccountAccessRole", path: "/", trust: trustAccounts(mgmt), managed: []string{"AdministratorAccess"}},
			role{name: "log-reader", path: "/", trust: trustAccounts(mgmt), managed: []string{"ViewOnlyAccess"}})
	default:
		m := i - 2 // member index
		prev := accts[2+(m+len(accts)-3)%(len(accts)-2)].ID
		iam.users = []user{
			{name: "alice", path: "/engineering/", groups: []string{"developers"}, inline: map[string]string{"alice-extra": docAliceInline}},
			bob,
			{name: "carol", path: "/", groups: []string{"developers"}, inline: map[string]string{"carol-federation": docCarolInline}},
			dave, erin, frank, grace,
		}
		if m == 1 {
			iam.users = append(iam.users, user{name: "heidi", path: "/contractors/", groups: []string{"readonly"}, inline: map[string]string{"heidi-s3": docHeidiInline}})
		}
		iam.roles = append(common,
			role{name: "platform-admin", path: "/", trust: trustAccounts(a.ID), managed: []string{"PowerUserAccess"}},
			role{name: "OrganizationAccountAccessRole", path: "/", trust: trustAccounts(mgmt), managed: []string{"AdministratorAccess"}},
			role{name: "app-server", path: "/service/", trust: trustService("ec2.amazonaws.com"), inline: map[string]string{"app-server-access": docAppInline}},
			role{name: "lambda-processor", path: "/service/", trust: trustService("lambda.amazonaws.com"), managed: []string{"ProcessorPolicy"}},
			role{name: "ci-deploy", path: "/", trust: trustService("codebuild.amazonaws.com"), inline: map[string]string{"ci-deploy-access": docCIInline},
				boundary: "CIBoundary"},
			// Trusted by the previous member account (alice's in the demo) and the management account.
			role{name: "cross-account-deploy", path: "/", trust: trustAccounts(prev, mgmt), managed: []string{"DeployAccess"}},
		)
		if m == 2 {
			iam.roles = append(iam.roles, role{name: "data-pipeline", path: "/service/", trust: trustService("lambda.amazonaws.com"),
				inline: map[string]string{"pipeline": docPipelineInline}})
		}
	}
	return iam
}

func (iam accountIAM) user(name string) (user, bool) {
	for _, u := range iam.users {
		if u.name == name {
			return u, true
		}
	}
	return user{}, false
}

// role finds a role by name or, for SSO roles, by the prefix before the random suffix.
func (iam accountIAM) role(name string) (role, bool) {
	for _, r := range iam.roles {
		if r.name == name || strings.HasPrefix(r.name, name+"_") {
			return r, true
		}
	}
	return role{}, false
}

func (u user) arn(acct string) string  { return "arn:aws:iam::" + acct + ":user" + u.path + u.name }
func (r role) arn(acct string) string  { return "arn:aws:iam::" + acct + ":role" + r.path + r.name }
func (g group) arn(acct string) string { return "arn:aws:iam::" + acct + ":group/" + g.name }
func rootARN(acct string) string       { return "arn:aws:iam::" + acct + ":root" }

// encodeDoc percent-encodes a policy document the way the IAM API returns it (RFC 3986: every
// byte but the unreserved A-Z a-z 0-9 - . _ ~ becomes %XX). url.PathUnescape decodes it; so does
// botocore's unquote. A space is %20, never +.
func encodeDoc(doc string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(doc) * 2)
	for i := 0; i < len(doc); i++ {
		c := doc[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// pretty re-indents a JSON document as AWS stores managed policies (newlines, 4 spaces).
func pretty(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "    "); err != nil {
		panic("demo: invalid policy document: " + err.Error())
	}
	return b.String()
}

// fnv64 hashes s (FNV-1a); the seed of stable IDs.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// stableID derives an IAM unique ID (AIDA…, AROA…, 21 characters) from a seed string.
func stableID(prefix, seed string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	h := fnv64(seed)
	b := make([]byte, 17)
	for i := range b {
		b[i] = alphabet[h>>59]
		h = h*6364136223846793005 + 1442695040888963407
	}
	return prefix + string(b)
}

// hexID derives 32 lowercase hex digits from a seed string.
func hexID(seed string) string {
	h := fnv64(seed)
	return fmt.Sprintf("%016x%016x", h, h*6364136223846793005+1442695040888963407)
}

type jsonPolicy struct {
	PolicyName     string `json:"PolicyName"`
	PolicyDocument string `json:"PolicyDocument"`
}

type jsonAttached struct {
	PolicyName string `json:"PolicyName"`
	PolicyArn  string `json:"PolicyArn"`
}

func inlineList(m map[string]string) []jsonPolicy {
	out := []jsonPolicy{}
	for _, name := range sortedKeys(m) {
		out = append(out, jsonPolicy{PolicyName: name, PolicyDocument: encodeDoc(m[name])})
	}
	return out
}

func attachedList(names []string, acct string) []jsonAttached {
	out := []jsonAttached{}
	for _, n := range names {
		p := managedPolicies[n]
		out = append(out, jsonAttached{PolicyName: p.name, PolicyArn: p.arn(acct)})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

type lastUse struct {
	at     time.Time
	region string
}

// gaadPages renders the account's GetAccountAuthorizationDetails response in the API's JSON
// field names, split over three pages whose boundaries cut through the lists (the API pages
// across all four lists, and may return fewer items than asked while more remain).
func (iam accountIAM) gaadPages(created time.Time, roleLastUsed map[string]lastUse) ([][]byte, error) {
	acct := iam.acct.ID
	attachments := map[string]int{}
	for _, g := range iam.groups {
		for _, n := range g.managed {
			attachments[n]++
		}
	}
	var users, groups, roles, policies []any
	for _, g := range iam.groups {
		groups = append(groups, map[string]any{
			"Path": "/", "GroupName": g.name, "GroupId": stableID("AGPA", acct+g.name), "Arn": g.arn(acct), "CreateDate": ts(created),
			"GroupPolicyList": inlineList(g.inline), "AttachedManagedPolicies": attachedList(g.managed, acct),
		})
	}
	for i, u := range iam.users {
		for _, n := range u.managed {
			attachments[n]++
		}
		users = append(users, map[string]any{
			"Path": u.path, "UserName": u.name, "UserId": stableID("AIDA", acct+u.name), "Arn": u.arn(acct),
			"CreateDate":     ts(created.Add(time.Duration(i) * 36 * time.Hour)),
			"UserPolicyList": inlineList(u.inline), "GroupList": u.groups, "AttachedManagedPolicies": attachedList(u.managed, acct),
			"Tags": []map[string]string{{"Key": "team", "Value": "platform"}},
		})
	}
	for _, r := range iam.roles {
		m := map[string]any{
			"Path": r.path, "RoleName": r.name, "RoleId": stableID("AROA", acct+r.name), "Arn": r.arn(acct), "CreateDate": ts(created),
			"AssumeRolePolicyDocument": encodeDoc(r.trust), "InstanceProfileList": []any{}, "RolePolicyList": inlineList(r.inline),
			"AttachedManagedPolicies": attachedList(r.managed, acct), "Tags": []any{}, "RoleLastUsed": map[string]any{},
		}
		if r.name == "app-server" {
			m["InstanceProfileList"] = []any{map[string]any{"Path": "/", "InstanceProfileName": "app-server",
				"InstanceProfileId": stableID("AIPA", acct+r.name), "Arn": "arn:aws:iam::" + acct + ":instance-profile/app-server",
				"CreateDate": ts(created), "Roles": []any{}}}
		}
		if r.boundary != "" {
			m["PermissionsBoundary"] = map[string]string{"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": managedPolicies[r.boundary].arn(acct)}
		}
		if lu, ok := roleLastUsed[r.arn(acct)]; ok {
			m["RoleLastUsed"] = map[string]any{"LastUsedDate": ts(lu.at), "Region": lu.region}
		}
		roles = append(roles, m)
		for _, n := range r.managed {
			attachments[n]++
		}
	}
	boundaries := map[string]int{}
	for _, r := range iam.roles {
		if r.boundary != "" {
			boundaries[r.boundary]++
		}
	}
	names := sortedKeys(attachments)
	for _, n := range sortedKeys(boundaries) {
		if attachments[n] == 0 {
			names = append(names, n)
		}
	}
	for _, name := range names {
		p := managedPolicies[name]
		var versions []map[string]any
		for i := len(p.versions) - 1; i >= 0; i-- { // newest first, as IAM lists them
			doc := p.versions[i]
			if p.aws {
				doc = pretty(doc)
			}
			versions = append(versions, map[string]any{"Document": encodeDoc(doc), "VersionId": fmt.Sprintf("v%d", i+1),
				"IsDefaultVersion": i == p.dflt, "CreateDate": ts(created.Add(time.Duration(i) * 24 * time.Hour))})
		}
		policies = append(policies, map[string]any{
			"PolicyName": p.name, "PolicyId": stableID("ANPA", p.arn(acct)), "Arn": p.arn(acct), "Path": p.path,
			"DefaultVersionId": fmt.Sprintf("v%d", p.dflt+1), "AttachmentCount": attachments[name], "PermissionsBoundaryUsageCount": boundaries[name],
			"IsAttachable": true, "CreateDate": ts(created), "UpdateDate": ts(created.Add(time.Duration(p.dflt) * 24 * time.Hour)),
			"PolicyVersionList": versions,
		})
	}
	g1, r1 := len(groups)/2, len(roles)/2
	pages := []map[string]any{
		{"UserDetailList": users, "GroupDetailList": groups[:g1], "RoleDetailList": []any{}, "Policies": []any{}},
		{"UserDetailList": []any{}, "GroupDetailList": groups[g1:], "RoleDetailList": roles[:r1], "Policies": []any{}},
		{"UserDetailList": []any{}, "GroupDetailList": []any{}, "RoleDetailList": roles[r1:], "Policies": policies},
	}
	var out [][]byte
	for i, p := range pages {
		p["IsTruncated"] = i+1 < len(pages)
		if i+1 < len(pages) {
			p["Marker"] = encodeDoc(fmt.Sprintf("AQ%s/page=%d", hexID(acct)[:24], i+2))
		}
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("gaad page %d of %s: %w", i+1, acct, err)
		}
		out = append(out, append(b, '\n'))
	}
	return out, nil
}

// credentials is what the credential report says about one user: zero times mean never.
type credentials struct {
	passwordUsed          time.Time
	keyUsed               time.Time
	keyRegion, keyService string
}

// credentialReportHeader is the 22 columns of the IAM credential report, in order.
const credentialReportHeader = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active," +
	"access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," +
	"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service," +
	"cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"

// credentialReport renders the report (FORMATS.md §3.2), consistent with the generated activity:
// root first as <root_account>, not_supported for root's password fields, no_information for a
// password never used, N/A for missing credentials and keys never used.
func (iam accountIAM) credentialReport(created, end time.Time, creds map[string]credentials) []byte {
	acct := iam.acct.ID
	var b strings.Builder
	b.WriteString(credentialReportHeader + "\n")
	iso := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }
	orNone := func(t time.Time, none string) string {
		if t.IsZero() {
			return none
		}
		return iso(t)
	}
	root := rootARN(acct)
	fmt.Fprintf(&b, "<root_account>,%s,%s,not_supported,%s,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
		root, iso(created), orNone(creds[root].passwordUsed, "no_information"))
	for i, u := range iam.users {
		arn := u.arn(acct)
		c := creds[arn]
		uc := created.Add(time.Duration(i) * 36 * time.Hour)
		pwEnabled, pwUsed, pwChanged, pwNext := "false", "N/A", "N/A", "N/A"
		if u.password {
			pwEnabled, pwUsed, pwChanged = "true", orNone(c.passwordUsed, "no_information"), iso(uc.Add(time.Hour))
			pwNext = iso(end.Add(45 * 24 * time.Hour))
		}
		keyUsed, keyRegion, keySvc := "N/A", "N/A", "N/A"
		if !c.keyUsed.IsZero() {
			keyUsed, keyRegion, keySvc = iso(c.keyUsed), c.keyRegion, c.keyService
		}
		key2 := "false,N/A,N/A,N/A,N/A"
		if u.key2 { // a rotated-out key, deactivated after its last use long ago
			key2 = "false," + iso(uc.Add(2*time.Hour)) + "," + iso(end.Add(-200*24*time.Hour)) + ",us-east-1,iam"
		}
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s,%s,%t,true,%s,%s,%s,%s,%s,false,N/A,false,N/A\n",
			u.name, arn, iso(uc), pwEnabled, pwUsed, pwChanged, pwNext, u.mfa, iso(uc.Add(time.Hour)), keyUsed, keyRegion, keySvc, key2)
	}
	return []byte(b.String())
}
