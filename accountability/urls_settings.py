"""Leader settings pages: organization, teams, users & invitations. (Filled in by the settings work.)"""

app_name = "settings"
urlpatterns = []
