#!/usr/bin/env python3
"""Writes one real-shaped GetAccountAuthorizationDetails snapshot in the three forms exports use.

  gaad-api-0001.json, gaad-api-0002.json  the API's wire form (what permlake's IAMAPI and SnapshotFiles
                                          read): two pages (IsTruncated/Marker), policy documents as
                                          URL-encoded (RFC 3986) strings of the text as written,
                                          dates 2026-01-02T03:04:05Z.
  gaad-cli.json                           `aws iam get-account-authorization-details` (pages merged,
                                          botocore's json_decode_policies: documents as objects,
                                          dates 2026-01-02T03:04:05+00:00, indent 4).
  gaad-boto3.json                         boto3 + json.dumps(default=str), as cloudsplaining's
                                          `download` writes it (salesforce/cloudsplaining
                                          test/files/example-authz-details.json): dates
                                          "2026-01-02 03:04:05+00:00", documents as objects.

Run from this directory: python3 gen_gaad.py
"""
import copy
import datetime as dt
import json
import urllib.parse

A = "123456789012"
UTC = dt.timezone.utc


def d(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


trust_ec2 = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
trust_support = doc({"Effect": "Allow", "Principal": {"Service": "support.amazonaws.com"}, "Action": "sts:AssumeRole"})
trust_sso = doc({"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{A}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE"},
                 "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                 "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}})

admin_access = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
read_only_v1 = doc({"Effect": "Allow", "Action": ["ec2:Describe*", "s3:Get*", "s3:List*"], "Resource": "*"})
read_only_v2 = doc({"Effect": "Allow", "Action": ["ec2:Describe*", "iam:Get*", "iam:List*", "s3:Get*", "s3:List*"], "Resource": "*"},
                   {"Sid": "DenyDataReads", "Effect": "Deny", "Action": ["s3:GetObject"], "Resource": "*"})
support_policy = doc({"Sid": "AllowReadOnly", "Effect": "Allow", "Action": ["iam:GetRole", "iam:ListRoles", "cloudtrail:DescribeTrails"], "Resource": "*"})
deploy_v1 = doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
deploy_v2 = doc({"Effect": "Allow", "Action": ["cloudformation:*", "s3:PutObject"], "Resource": "*"})
deploy_v3 = doc({"Sid": "Deploy", "Effect": "Allow", "Action": ["cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:Describe*"],
                 "Resource": f"arn:aws:cloudformation:us-east-1:{A}:stack/app-*/*"},
                {"Sid": "Artifacts", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::deploy-artifacts/*",
                 "Condition": {"StringEquals": {"aws:PrincipalTag/team": "build+release"}, "Bool": {"aws:SecureTransport": "true"}}},
                {"Effect": "Deny", "NotAction": ["cloudformation:*", "s3:*"], "Resource": "*"})
boundary = doc({"Sid": "Boundary", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
               {"Effect": "Deny", "Action": ["iam:CreateUser", "iam:CreateAccessKey"], "NotResource": f"arn:aws:iam::{A}:user/sandbox/*"})
alice_inline = doc({"Sid": "OwnKeys", "Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
                    "Resource": f"arn:aws:iam::{A}:user/${{aws:username}}"})
devs_inline = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "logs:FilterLogEvents", "Resource": "*"}}
app_inline = doc({"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
                  "Resource": f"arn:aws:sqs:us-east-1:{A}:jobs"},
                 {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                  "Condition": {"StringLike": {"kms:ViaService": ["sqs.*.amazonaws.com"]}}})

aws_pol = lambda n: {"PolicyName": n, "PolicyArn": f"arn:aws:iam::aws:policy/{n}"}
own_pol = lambda n: {"PolicyName": n, "PolicyArn": f"arn:aws:iam::{A}:policy/{n}"}
bnd = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": f"arn:aws:iam::{A}:policy/dev-boundary"}

users = [
    {"Path": "/", "UserName": "alice", "UserId": "AIDAEXAMPLEALICE0001", "Arn": f"arn:aws:iam::{A}:user/alice",
     "CreateDate": d("2024-03-05T09:10:11"), "UserPolicyList": [{"PolicyName": "own-keys", "PolicyDocument": alice_inline}],
     "GroupList": ["admins", "devs"], "AttachedManagedPolicies": [own_pol("deploy")],
     "PermissionsBoundary": bnd, "Tags": [{"Key": "team", "Value": "platform"}, {"Key": "cost-center", "Value": "42"}]},
    {"Path": "/", "UserName": "bob", "UserId": "AIDAEXAMPLEBOB000002", "Arn": f"arn:aws:iam::{A}:user/bob",
     "CreateDate": d("2025-06-07T08:09:10"), "GroupList": ["devs"], "AttachedManagedPolicies": [], "Tags": []},
    {"Path": "/service/", "UserName": "ci-deployer", "UserId": "AIDAEXAMPLECI0000003", "Arn": f"arn:aws:iam::{A}:user/service/ci-deployer",
     "CreateDate": d("2023-01-02T03:04:05"), "UserPolicyList": [], "GroupList": [], "AttachedManagedPolicies": [own_pol("deploy")],
     "Tags": [{"Key": "owner", "Value": "ci"}]},
]
groups = [
    {"Path": "/", "GroupName": "admins", "GroupId": "AGPAEXAMPLEADMINS001", "Arn": f"arn:aws:iam::{A}:group/admins",
     "CreateDate": d("2022-02-03T04:05:06"), "GroupPolicyList": [], "AttachedManagedPolicies": [aws_pol("AdministratorAccess")]},
    {"Path": "/", "GroupName": "devs", "GroupId": "AGPAEXAMPLEDEVS00002", "Arn": f"arn:aws:iam::{A}:group/devs",
     "CreateDate": d("2022-02-03T04:05:07"), "GroupPolicyList": [{"PolicyName": "logs", "PolicyDocument": devs_inline}],
     "AttachedManagedPolicies": [aws_pol("ReadOnlyAccess")]},
]
roles = [
    {"Path": "/", "RoleName": "app", "RoleId": "AROAEXAMPLEAPP000001", "Arn": f"arn:aws:iam::{A}:role/app",
     "CreateDate": d("2024-08-09T10:11:12"), "AssumeRolePolicyDocument": trust_ec2,
     "InstanceProfileList": [{"Path": "/", "InstanceProfileName": "app", "InstanceProfileId": "AIPAEXAMPLEAPP000001",
                              "Arn": f"arn:aws:iam::{A}:instance-profile/app", "CreateDate": d("2024-08-09T10:11:13"),
                              "Roles": [{"Path": "/", "RoleName": "app", "RoleId": "AROAEXAMPLEAPP000001", "Arn": f"arn:aws:iam::{A}:role/app",
                                         "CreateDate": d("2024-08-09T10:11:12"), "AssumeRolePolicyDocument": trust_ec2}]}],
     "RolePolicyList": [{"PolicyName": "jobs", "PolicyDocument": app_inline}], "AttachedManagedPolicies": [own_pol("deploy")],
     "PermissionsBoundary": bnd, "Tags": [{"Key": "app", "Value": "jobs"}],
     "RoleLastUsed": {"LastUsedDate": d("2026-11-30T22:01:02"), "Region": "us-east-1"}},
    {"Path": "/aws-service-role/support.amazonaws.com/", "RoleName": "AWSServiceRoleForSupport", "RoleId": "AROAEXAMPLESUPPORT01",
     "Arn": f"arn:aws:iam::{A}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
     "CreateDate": d("2021-05-06T07:08:09"), "AssumeRolePolicyDocument": trust_support, "InstanceProfileList": [], "RolePolicyList": [],
     "AttachedManagedPolicies": [{"PolicyName": "AWSSupportServiceRolePolicy", "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy"}],
     "Tags": [], "RoleLastUsed": {}},
    {"Path": "/aws-reserved/sso.amazonaws.com/", "RoleName": "AWSReservedSSO_ReadOnly_0123456789abcdef", "RoleId": "AROAEXAMPLESSORO0001",
     "Arn": f"arn:aws:iam::{A}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_0123456789abcdef",
     "CreateDate": d("2023-09-10T11:12:13"), "AssumeRolePolicyDocument": trust_sso, "InstanceProfileList": [], "RolePolicyList": [],
     "AttachedManagedPolicies": [aws_pol("ReadOnlyAccess")], "Tags": [],
     "RoleLastUsed": {"LastUsedDate": d("2026-12-01T08:00:00"), "Region": "eu-west-1"}},
]


def version(document, vid, default, created):
    return {"Document": document, "VersionId": vid, "IsDefaultVersion": default, "CreateDate": d(created)}


policies = [
    {"PolicyName": "deploy", "PolicyId": "ANPAEXAMPLEDEPLOY001", "Arn": f"arn:aws:iam::{A}:policy/deploy", "Path": "/",
     "DefaultVersionId": "v3", "AttachmentCount": 3, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
     "CreateDate": d("2023-01-02T03:04:05"), "UpdateDate": d("2025-10-11T12:13:14"),
     "PolicyVersionList": [version(deploy_v3, "v3", True, "2025-10-11T12:13:14"), version(deploy_v2, "v2", False, "2024-04-05T06:07:08"),
                           version(deploy_v1, "v1", False, "2023-01-02T03:04:05")]},
    {"PolicyName": "dev-boundary", "PolicyId": "ANPAEXAMPLEBOUNDARY1", "Arn": f"arn:aws:iam::{A}:policy/dev-boundary", "Path": "/",
     "DefaultVersionId": "v1", "AttachmentCount": 0, "PermissionsBoundaryUsageCount": 2, "IsAttachable": True,
     "CreateDate": d("2024-01-01T00:00:00"), "UpdateDate": d("2024-01-01T00:00:00"),
     "PolicyVersionList": [version(boundary, "v1", True, "2024-01-01T00:00:00")]},
    {"PolicyName": "AdministratorAccess", "PolicyId": "ANPAIWMBCKSKIEE64ZLYK", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess", "Path": "/",
     "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
     "CreateDate": d("2015-02-06T18:39:46"), "UpdateDate": d("2015-02-06T18:39:46"),
     "PolicyVersionList": [version(admin_access, "v1", True, "2015-02-06T18:39:46")]},
    {"PolicyName": "ReadOnlyAccess", "PolicyId": "ANPAILL3HVNFSB6DCOWYQ", "Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "Path": "/",
     "DefaultVersionId": "v2", "AttachmentCount": 2, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
     "CreateDate": d("2015-02-06T18:39:48"), "UpdateDate": d("2026-09-01T17:00:00"),
     "PolicyVersionList": [version(read_only_v2, "v2", True, "2026-09-01T17:00:00"), version(read_only_v1, "v1", False, "2015-02-06T18:39:48")]},
    {"PolicyName": "AWSSupportServiceRolePolicy", "PolicyId": "ANPAJ7W6266ELXF5MISDS",
     "Arn": "arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy", "Path": "/aws-service-role/",
     "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0, "IsAttachable": False,
     "CreateDate": d("2018-04-19T18:04:44"), "UpdateDate": d("2018-04-19T18:04:44"),
     "PolicyVersionList": [version(support_policy, "v1", True, "2018-04-19T18:04:44")]},
]

DOC_KEYS = {"PolicyDocument", "Document", "AssumeRolePolicyDocument"}


def api_form(v, key=None):
    """Documents as the API returns them: the text as written (the console's 4-space layout), URL-encoded."""
    if key in DOC_KEYS:
        return urllib.parse.quote(json.dumps(v, indent=4), safe="*")
    if isinstance(v, dict):
        return {k: api_form(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [api_form(x) for x in v]
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    return v


def cli_dates(v):
    if isinstance(v, dict):
        return {k: cli_dates(x) for k, x in v.items()}
    if isinstance(v, list):
        return [cli_dates(x) for x in v]
    if isinstance(v, dt.datetime):
        return v.isoformat()
    return v


def write(name, obj, default=None):
    with open(name, "w") as f:
        json.dump(obj, f, indent=4, default=default)
        f.write("\n")


write("gaad-api-0001.json", api_form({"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles[:1],
                                       "Policies": [], "IsTruncated": True, "Marker": "AAEAAR9rZXlzL2V4YW1wbGUtbWFya2VyLTAwMDE="}))
write("gaad-api-0002.json", api_form({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles[1:],
                                       "Policies": policies, "IsTruncated": False}))
merged = {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}
write("gaad-cli.json", cli_dates(copy.deepcopy(merged)))
write("gaad-boto3.json", merged, default=str)
