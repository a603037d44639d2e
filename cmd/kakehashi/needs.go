package main

import (
	"context"
	"time"

	"github.com/kakehashi/kakehashi/bot"
	"github.com/kakehashi/kakehashi/handlers"
	"github.com/kakehashi/kakehashi/store"
)

func init() {
	// wireNeeds runs before the features list (newApp calls it): other features hook into a.Needs.
	demoSeeders = append([]func(context.Context, *App) error{seedDemoNeeds}, demoSeeders...)
}

func wireNeeds(_ context.Context, a *App) error {
	a.NeedStore = store.NewNeedService(a.DB)
	a.Needs = &handlers.Needs{Store: a.NeedStore, Members: a.Members, Messenger: a.Outbox, Channels: a.Outbox, Clock: a.Clock,
		Similar: &handlers.SimilarNeeds{Store: a.NeedStore, MinScore: 30}}
	a.Needs.Register(a.Mux)
	a.Home = &handlers.Home{Sections: []handlers.HomeSection{a.Needs.HomeSection}}
	a.Home.Register(a.Mux)
	return nil
}

// demoNeeds are a few open needs of デモ市 so that lists, similar-need detection and the digest have content.
var demoNeeds = []struct {
	Title, Description, Department, Skills string
	Category                               bot.Category
	Urgency                                bot.Urgency
	Impact                                 int
	Status                                 bot.NeedStatus
}{
	{"窓口の申請受付を電子化したい", "住民票の写しなどの申請を紙で受け付けており、窓口が混雑しています。電子申請で事前に受け付けられるようにしたいです。", "市民課", "電子申請, 業務改善",
		"web_ux", bot.UrgencyHigh, 5, bot.NeedNew},
	{"RPAで給付金の入力作業を自動化したい", "給付金の申請書をExcelから基幹システムへ手で転記しており、毎月40時間かかっています。RPAで自動化できないか相談したいです。", "福祉課", "RPA, WinActor",
		"rpa_automation", bot.UrgencyMedium, 3, bot.NeedTriaged},
	{"避難所マップをGISで公開したい", "災害時に開設する避難所の位置と混雑状況を、地図で住民に分かりやすく示したいです。", "防災危機管理課", "GIS, オープンデータ",
		"disaster_prevention", bot.UrgencyHigh, 5, bot.NeedMatching},
	{"子育て支援の情報をSNSで発信したい", "子育て世帯に支援制度が届いていません。LINEやSNSでの発信方法を相談したいです。", "子育て支援課", "SNS運用, 広報",
		"promotion_pr", bot.UrgencyLow, 4, bot.NeedNew},
}

func seedDemoNeeds(ctx context.Context, a *App) error {
	existing, err := a.NeedStore.Needs(ctx, DemoTenant, bot.NeedFilter{Limit: 1})
	if err != nil || len(existing) > 0 {
		return err
	}
	filer, err := a.Members.EnsureMember(ctx, DemoTenant, bot.Identity{Platform: bot.PlatformWeb, UserID: "demo-seed-staff"}, bot.RoleStaff, "デモ職員（市民課）")
	if err != nil {
		return err
	}
	now := a.Clock.Now()
	for i, d := range demoNeeds {
		n := &bot.Need{Tenant: DemoTenant, Title: d.Title, Description: d.Description, Department: d.Department, Skills: d.Skills,
			Category: d.Category, Urgency: d.Urgency, Impact: d.Impact, Form: "either", FiledBy: filer.ID, Status: d.Status,
			CreatedAt: now.Add(-time.Duration(len(demoNeeds)-i) * 72 * time.Hour)}
		if _, err := a.NeedStore.CreateNeed(ctx, n, "demo-need-"+itoa(i)); err != nil {
			return err
		}
	}
	return nil
}
