package app

// registerUpgradeHandlers is where each named software upgrade gets its
// migration handler. Merit has had no upgrade yet; the first one adds a
// handler here and the store loader for any new store keys.
func (app *MeritApp) registerUpgradeHandlers() {}
