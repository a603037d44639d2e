package main

import (
	"context"

	"github.com/kakehashi/kakehashi/bot"
)

// DemoTenant is the demo municipality.
const DemoTenant bot.TenantID = "demo"

type demoCode struct {
	Code  string
	Role  bot.Role
	Label string
}

// demoCodes are fixed and reusable so guides and tests can rely on them (SPEC §9).
var demoCodes = []demoCode{
	{"DEMO-STAFF", bot.RoleStaff, "職員 (staff)"},
	{"DEMO-DX", bot.RoleDXLead, "DX推進担当 (dx_lead)"},
	{"DEMO-ADVISER", bot.RoleAdviser, "アドバイザー (adviser)"},
	{"DEMO-MAYOR", bot.RoleMayor, "首長 (mayor)"},
	{"DEMO-ADMIN", bot.RoleAdmin, "管理者 (admin)"},
	{"DEMO-CANDIDATE", bot.RoleCandidate, "候補者 (candidate)"},
}

// DemoDepartments are デモ市's departments.
var DemoDepartments = []string{"総務課", "市民課", "福祉課", "子育て支援課", "防災危機管理課", "情報政策課"}

// demoSeeders add each feature's demo data (advisers, candidates, needs) after the
// tenant and codes exist. Every seeder must be idempotent: serve --demo runs them at each start.
var demoSeeders []func(ctx context.Context, a *App) error

func seedDemo(ctx context.Context, a *App) error {
	t, err := a.Members.Tenant(ctx, DemoTenant)
	if bot.ErrorCode(err) == bot.ENOTFOUND {
		t = &bot.Tenant{ID: DemoTenant, Name: "デモ市", Departments: DemoDepartments, DXChannel: "web"}
		if err := a.Members.CreateTenant(ctx, t); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if len(t.Departments) == 0 {
		// The tenant came from the config file without departments.
		t.Departments = DemoDepartments
		if err := a.Members.CreateTenant(ctx, t); err != nil {
			return err
		}
	}
	for _, c := range demoCodes {
		err := a.Members.CreateInvite(ctx, &bot.Invite{Code: c.Code, Tenant: DemoTenant, Role: c.Role, UsesLeft: -1})
		if err != nil && bot.ErrorCode(err) != bot.ECONFLICT {
			return err
		}
	}
	for _, s := range demoSeeders {
		if err := s(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
