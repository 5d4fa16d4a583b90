package app

func systemLoginItem() (loginItem, error) { return launchAgentItem() }
