"""The annotator's voting page under /a/."""
from django.urls import path

from . import pages

urlpatterns = [
    path("<slug:slug>/", pages.vote_page, name="annotate-vote-page"),
]
